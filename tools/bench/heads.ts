/** The request heads the device benches send: wrk's, and a browser's polling /api/status (bench-only). */
export const REQ = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
export const BROWSER =
  "GET /api/status HTTP/1.1\r\nHost: 192.168.4.1\r\nConnection: keep-alive\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
  "Accept: application/json, text/plain, */*\r\nReferer: http://192.168.4.1/\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n";
