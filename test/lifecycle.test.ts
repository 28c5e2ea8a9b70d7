/**
 * The guarantees of DESIGN.md, each as a named test, on the simulated network
 * with a stepped clock.
 */
import {
  Ev,
  Conn,
  Resp,
  HttpMsg,
  httpReply,
  httpResp,
  httpStart,
  httpWrite,
  httpEnd,
  httpCanWrite,
  httpBodyStream,
  httpHeader,
  wakeup,
  timerAdd,
  F,
} from "../src/index";
import { server, parseResponses, used } from "./util";

/** Streaming a deferred response: through the handle's connection, while it is still pending. */
const hStart = (r: Resp, code: number, h: string, len: number) => {
  const c = r.conn();
  return !!c && httpStart(c, code, h, len);
};
const hWrite = (r: Resp, d: string) => {
  const c = r.conn();
  return !!c && httpWrite(c, d);
};
const hEnd = (r: Resp) => {
  const c = r.conn();
  return !!c && httpEnd(c);
};

const GET = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: dev\r\n${extra}\r\n`;
const statuses = (s: string) => parseResponses(s).resps.map((r) => r.status);
const bodies = (s: string) => parseResponses(s).resps.map((r) => r.body);

/** A server whose handler defers every request until the test completes it through `pending`. */
function deferring(over = {}) {
  const pending: Resp[] = [];
  const seen: string[] = [];
  const closes: number[] = [];
  const s = server((c, ev, data) => {
    if (ev === Ev.HttpMsg) {
      seen.push(data.target);
      pending.push(httpResp(c) as Resp);
    } else if (ev === Ev.Close) closes.push(c.id);
  }, over);
  return { ...s, pending, seen, closes };
}

describe("guarantee 1: a request is answered only when its whole response is queued", () => {
  test("a Content-Length response in pieces holds back the next request until its last byte", () => {
    const seen: string[] = [];
    let first: Conn | null = null;
    const { sim, client } = server((c, ev, data) => {
      if (ev !== Ev.HttpMsg) return;
      seen.push(data.uri);
      if (data.uri === "/a") {
        first = c;
        httpStart(c, 200, "", 10);
        httpWrite(c, "12345");
      } else httpReply(c, 200, "", "b");
    });
    const cl = client();
    cl.send(GET("/a") + GET("/b"));
    sim.run();
    expect(seen).toEqual(["/a"]);
    httpWrite(first!, "67890");
    sim.run();
    expect(seen).toEqual(["/a", "/b"]);
    expect(bodies(cl.received)).toEqual(["1234567890", "b"]);
  });

  test("calling httpStart alone does not complete a chunked response; httpEnd does", () => {
    const { sim, client, pending } = deferring();
    const cl = client();
    cl.send(GET("/a") + GET("/b"));
    sim.run();
    hStart(pending[0], 200, "", -1);
    hWrite(pending[0], "abc");
    sim.run();
    expect(pending.length).toBe(1);
    expect(hEnd(pending[0])).toBe(true);
    sim.run();
    expect(pending.length).toBe(2);
    pending[1].reply(200, "", "b");
    sim.run();
    expect(bodies(cl.received)).toEqual(["abc", "b"]);
  });
});

describe("guarantee 2: pipelined requests wait unparsed; responses go out in request order", () => {
  test("three pipelined requests behind a deferred one are answered in order", () => {
    const { sim, client, pending, seen } = deferring();
    const cl = client();
    cl.send(GET("/1") + GET("/2") + GET("/3"));
    sim.run();
    expect(seen).toEqual(["/1"]);
    sim.advance(1500);
    pending[0].reply(200, "", "one");
    sim.run();
    expect(seen).toEqual(["/1", "/2"]);
    pending[1].reply(200, "", "two");
    sim.run();
    pending[2].reply(200, "", "three");
    sim.run();
    expect(bodies(cl.received)).toEqual(["one", "two", "three"]);
    expect(cl.gotFin).toBe(false);
  });

  test("a stale handle of an earlier request cannot answer the next one", () => {
    const { sim, client, pending } = deferring();
    const cl = client();
    cl.send(GET("/1") + GET("/2"));
    sim.run();
    pending[0].reply(200, "", "one");
    sim.run();
    expect(pending[0].reply(200, "", "again")).toBe(false);
    pending[1].reply(200, "", "two");
    sim.run();
    expect(bodies(cl.received)).toEqual(["one", "two"]);
  });
});

describe("guarantee 3: Connection: close flushes the whole response, then closes", () => {
  test("a deferred reply to Connection: close arrives whole, then FIN", () => {
    const { sim, client, pending, mgr } = deferring();
    const cl = client();
    cl.send(GET("/scan", "Connection: close\r\n"));
    sim.run();
    sim.advance(1500);
    expect(cl.received).toBe("");
    const json = JSON.stringify({ nets: Array.from({ length: 40 }, (_, i) => ({ ssid: "net" + i, rssi: -40 - i })) });
    expect(pending[0].reply(200, "Content-Type: application/json\r\n", json)).toBe(true);
    sim.run();
    const r = parseResponses(cl.received).resps;
    expect(r.length).toBe(1);
    expect(r[0].body).toBe(json);
    expect(r[0].headers.connection).toBe("close");
    expect(cl.gotFin).toBe(true);
    expect(used(mgr)).toBe(0);
  });

  test("the close token is found in a list, in any case", () => {
    const { sim, client, pending } = deferring();
    const cl = client();
    cl.send(GET("/", "Connection: keep-alive, CLOSE\r\n"));
    sim.run();
    pending[0].reply(200, "", "x");
    sim.run();
    expect(cl.gotFin).toBe(true);
  });

  test("HTTP/1.0 without keep-alive closes after a deferred reply", () => {
    const { sim, client, pending } = deferring();
    const cl = client();
    cl.send("GET /a HTTP/1.0\r\n\r\n");
    sim.run();
    sim.advance(100);
    pending[0].reply(200, "", "old");
    sim.run();
    expect(bodies(cl.received)).toEqual(["old"]);
    expect(cl.gotFin).toBe(true);
  });

  test("HTTP/1.0 with keep-alive stays open and is told so", () => {
    const { sim, client, pending } = deferring();
    const cl = client();
    cl.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    sim.run();
    pending[0].reply(200, "", "x");
    sim.run();
    expect(parseResponses(cl.received).resps[0].headers.connection).toBe("keep-alive");
    expect(cl.gotFin).toBe(false);
  });

  test("a deferred chunked response to Connection: close ends with the final chunk, then FIN", () => {
    const { sim, client, pending } = deferring();
    const cl = client();
    cl.send(GET("/", "Connection: close\r\n"));
    sim.run();
    hStart(pending[0], 200, "", -1);
    sim.run();
    for (let i = 0; i < 5; i++) {
      hWrite(pending[0], "piece" + i);
      sim.run();
      expect(cl.gotFin).toBe(false);
    }
    hEnd(pending[0]);
    sim.run();
    expect(bodies(cl.received)).toEqual(["piece0piece1piece2piece3piece4"]);
    expect(cl.gotFin).toBe(true);
  });

  test("a streamed response larger than the send buffer arrives whole before the close", () => {
    const big = "x".repeat(20000) + "END";
    const { sim, client, pending } = deferring({ txSize: 512 });
    sim.maxWrite = 300;
    const cl = client();
    cl.send(GET("/big", "Connection: close\r\n"));
    sim.run();
    pending[0].reply(200, "", big);
    sim.run();
    expect(bodies(cl.received)).toEqual([big]);
    expect(cl.gotFin).toBe(true);
  });

  test("a close-delimited HTTP/1.0 stream ends with the close", () => {
    const { sim, client, pending } = deferring();
    const cl = client();
    cl.send("GET / HTTP/1.0\r\n\r\n");
    sim.run();
    hStart(pending[0], 200, "", -1);
    hWrite(pending[0], "abc");
    sim.run();
    hEnd(pending[0]);
    sim.run();
    expect(cl.gotFin).toBe(true);
    const r = parseResponses(cl.received, [], true).resps;
    expect(r[0].body).toBe("abc");
    expect(r[0].headers["transfer-encoding"]).toBeUndefined();
  });

  test("bytes after a closing request are ignored, never answered", () => {
    const { sim, client, pending, seen } = deferring();
    const cl = client();
    cl.send(GET("/1", "Connection: close\r\n") + GET("/2") + "garbage\r\n\r\n");
    sim.run();
    pending[0].reply(200, "", "one");
    sim.run();
    expect(seen).toEqual(["/1"]);
    expect(statuses(cl.received)).toEqual([200]);
    expect(cl.gotFin).toBe(true);
  });

  test("a handler's own Connection: close header closes after the response", () => {
    const { sim, client } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "Connection: close\r\n", "bye");
    });
    const cl = client();
    cl.send(GET("/"));
    sim.run();
    expect(cl.gotFin).toBe(true);
    expect(parseResponses(cl.received).resps[0].headers.connection).toBe("close");
  });
});

describe("guarantee 4: deferral is explicit and safe", () => {
  test("a handle to a response whose connection is gone returns false and never reaches the slot's next connection", () => {
    const { sim, client, pending, seen } = deferring({ slots: 1 });
    const a = client();
    a.send(GET("/a"));
    sim.run();
    a.reset();
    sim.run();
    const b = client();
    b.send(GET("/b"));
    sim.run();
    expect(seen).toEqual(["/a", "/b"]);
    expect(pending[0].conn()).toBeNull();
    expect(pending[0].reply(200, "", "for a")).toBe(false);
    expect(pending[1].reply(200, "", "for b")).toBe(true);
    sim.run();
    expect(bodies(b.received)).toEqual(["for b"]);
  });

  test("a reply from a timer callback completes the response", () => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) {
        const r = httpResp(c)!;
        timerAdd(mgr, 1500, false, () => r.reply(200, "", "later"));
      }
    });
    const cl = client();
    cl.send(GET("/", "Connection: close\r\n"));
    sim.run();
    sim.advance(1499);
    expect(cl.received).toBe("");
    sim.advance(1);
    expect(bodies(cl.received)).toEqual(["later"]);
    expect(cl.gotFin).toBe(true);
  });

  test("wakeup reaches a connection only while it exists", () => {
    const got: unknown[] = [];
    const { sim, client, mgr } = server((c, ev, data) => {
      if (ev === Ev.Wakeup) {
        got.push(data);
        httpReply(c, 200, "", String(data));
      }
    });
    const cl = client();
    cl.send(GET("/"));
    sim.run();
    const id = mgr.conns[0].id;
    expect(wakeup(mgr, id, "hi")).toBe(true);
    sim.run();
    expect(got).toEqual(["hi"]);
    expect(bodies(cl.received)).toEqual(["hi"]);
    cl.reset();
    sim.run();
    expect(wakeup(mgr, id, "late")).toBe(false);
    sim.run();
    expect(got).toEqual(["hi"]);
  });
});

describe("guarantee 5: every pending response has a deadline", () => {
  test("nothing sent by the deadline: the runtime answers 503 with Retry-After", () => {
    const { sim, client, pending, lim } = deferring({ respMs: 5000 });
    const cl = client();
    cl.send(GET("/slow"));
    sim.run();
    sim.advance(4999);
    expect(cl.received).toBe("");
    sim.advance(1);
    const r = parseResponses(cl.received).resps;
    expect(r.map((x) => x.status)).toEqual([503]);
    expect(r[0].headers["retry-after"]).toBe(String(lim.retryAfter));
    expect(pending[0].reply(200, "", "too late")).toBe(false);
    sim.run();
    expect(statuses(cl.received)).toEqual([503]);
  });

  test("a response started but not finished by the deadline: the connection closes", () => {
    const { sim, client, pending } = deferring({ respMs: 5000 });
    const cl = client();
    cl.send(GET("/slow"));
    sim.run();
    hStart(pending[0], 200, "", 100);
    hWrite(pending[0], "partial");
    sim.advance(5000);
    expect(cl.gotFin).toBe(true);
    expect(cl.received).toContain("partial");
  });

  test("after a 503 the keep-alive connection serves the next pipelined request", () => {
    const { sim, client, pending } = deferring({ respMs: 1000 });
    const cl = client();
    cl.send(GET("/1") + GET("/2"));
    sim.run();
    sim.advance(1000);
    pending[1].reply(200, "", "two");
    sim.run();
    expect(statuses(cl.received)).toEqual([503, 200]);
  });
});

describe("guarantee 6: a client that disconnects while its response is pending frees its slot at once", () => {
  test("reset during a deferred response: slot freed, Close told, the late reply is a no-op", () => {
    const { sim, client, pending, closes, mgr } = deferring();
    const cl = client();
    cl.send(GET("/scan"));
    sim.run();
    expect(used(mgr)).toBe(1);
    cl.reset();
    sim.run();
    expect(used(mgr)).toBe(0);
    expect(closes.length).toBe(1);
    expect(pending[0].reply(200, "", "late")).toBe(false);
    expect(sim.openSockets()).toBe(0);
  });

  test("reset in the middle of a large response frees the slot", () => {
    const { sim, client, pending, mgr } = deferring({ txSize: 256 });
    const cl = client();
    cl.send(GET("/big"));
    sim.run();
    cl.window(1000);
    pending[0].reply(200, "", "y".repeat(10000));
    sim.run();
    cl.reset();
    sim.run();
    expect(used(mgr)).toBe(0);
    expect(sim.openSockets()).toBe(0);
  });
});

describe("guarantee 7: a client that half-closes after its request still gets the full response", () => {
  test("request, FIN, deferred reply: the whole response arrives, then the server closes", () => {
    const { sim, client, pending, mgr } = deferring();
    const cl = client();
    cl.send(GET("/a"));
    cl.end();
    sim.run();
    sim.advance(2000);
    expect(pending[0].reply(200, "", "full body")).toBe(true);
    sim.run();
    expect(bodies(cl.received)).toEqual(["full body"]);
    expect(cl.gotFin).toBe(true);
    expect(used(mgr)).toBe(0);
  });

  test("two pipelined requests then FIN: both answered", () => {
    const { sim, client, pending } = deferring();
    const cl = client();
    cl.send(GET("/a") + GET("/b"));
    cl.end();
    sim.run();
    pending[0].reply(200, "", "a");
    sim.run();
    pending[1].reply(200, "", "b");
    sim.run();
    expect(bodies(cl.received)).toEqual(["a", "b"]);
    expect(cl.gotFin).toBe(true);
  });
});

describe("the fast path", () => {
  test("a whole head on an idle connection is answered with no poll pass, also after one served the ordinary way", () => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    });
    const cl = client();
    cl.send(GET("/a"), { split: [5] }); // in two pieces: parsed from the slot's buffer, in a poll pass
    sim.run();
    let passes = 0;
    const pf = mgr.pollFn;
    mgr.pollFn = () => {
      passes++;
      pf();
    };
    for (let i = 0; i < 3; i++) {
      cl.send(GET("/b"));
      sim.run();
    }
    expect(statuses(cl.received)).toEqual([200, 200, 200, 200]);
    expect(passes).toBe(0);
  });
  test("a head with a body, a pipelined pair, or a head in pieces takes the ordinary path, answered the same", () => {
    const { sim, client } = server((c, ev, d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", d.target + ":" + d.len);
    });
    const cl = client();
    cl.send("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    sim.run();
    cl.send(GET("/x") + GET("/y"));
    sim.run();
    cl.send(GET("/z"), { split: [3, 9] });
    sim.run();
    expect(bodies(cl.received)).toEqual(["/p:3", "/x:0", "/y:0", "/z:0"]);
  });
});

describe("a peer that outruns the board (the HAL cuts its input)", () => {
  test("every request complete before the cut is answered in order, then a FIN; the partial one gets nothing", () => {
    const { sim, client, pending, mgr } = deferring({ rxSize: 64 });
    sim.rxCap = 60;
    const cl = client();
    // 49 bytes a request, one delivery each: /a fills the slot's buffer while its response is pending, /b waits in
    // it and the HAL's queue, /c would take the queue past its 60 bytes: it is dropped, and what follows.
    const req = (p: string) => GET(p, "X: 12345678901234\r\n");
    expect(req("/a").length).toBe(49);
    cl.send(req("/a"));
    sim.run();
    cl.send(req("/b"));
    sim.run();
    cl.send(req("/c") + req("/d"));
    sim.run();
    expect(pending).toHaveLength(1);
    pending[0].reply(200, "", "a");
    sim.run();
    expect(cl.closed).toBe(false);
    pending[1].reply(200, "", "b");
    sim.run();
    expect(bodies(cl.received)).toEqual(["a", "b"]);
    expect(cl.gotFin).toBe(true);
    expect(used(mgr)).toBe(0);
  });
  test("a half-close inside a request is still the client's error: 400", () => {
    const { sim, client } = deferring();
    const cl = client();
    cl.send("GET /a HTTP/1.1\r\nHo");
    cl.end();
    sim.run();
    expect(statuses(cl.received)).toEqual([400]);
  });
});

describe("errors get a status and a close, never silence", () => {
  const reject = (req: string, over = {}) => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    }, over);
    const cl = client();
    cl.send(req);
    sim.run();
    return { cl, sim, mgr };
  };
  test.each([
    ["400 for a malformed request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["400 for obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400],
    ["400 for a space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
    ["400 for a bare CR", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400],
    ["400 for Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["400 for a duplicate Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400],
    ["400 for a missing Host", "GET / HTTP/1.1\r\n\r\n", 400],
    ["400 for a bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
    ["414 for a long request line", "GET /" + "a".repeat(600) + " HTTP/1.1\r\n", 414],
    ["431 for a header section larger than the buffer", "GET / HTTP/1.1\r\nHost: a\r\n" + "X-A: b\r\n".repeat(300), 431],
    ["413 for a body larger than the buffer", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413],
    ["501 for an unknown transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
    ["505 for HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
  ])("%s", (_name, req, code) => {
    const { cl, mgr } = reject(req);
    expect(statuses(cl.received)).toEqual([code]);
    expect(parseResponses(cl.received).resps[0].headers.connection).toBe("close");
    expect(cl.gotFin).toBe(true);
    expect(used(mgr)).toBe(0);
  });

  // A head that will never be valid is refused as soon as its bad line is complete: no slot held until the
  // head ends or its 408 deadline fires.
  test.each([
    ["505 for GET / HTTP/5.6, before the rest of the head", "GET / HTTP/5.6\r\n", 505],
    ["400 for a malformed request line", "GET /a b HTTP/1.1\r\nHost: a\r\n", 400],
    ["400 for a bare CR in a field line", "GET / HTTP/1.1\r\nX: a\rb\r\n", 400],
    ["400 for a field line without a colon", "GET / HTTP/1.1\r\nHost: a\r\nnot a field\r\n", 400],
    ["400 for obs-fold", "GET / HTTP/1.1\r\nX: 1\r\n 2\r\n", 400],
  ])("%s: refused at once, with no more bytes and no time passing", (_name, req, code) => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    }, { hdrMs: 10000 });
    const cl = client();
    // In two pieces, as a slow client sends: the bad line completes in the second.
    cl.send(req.slice(0, 5));
    sim.run();
    expect(cl.received).toBe("");
    cl.send(req.slice(5));
    sim.run();
    expect(statuses(cl.received)).toEqual([code]);
    expect(cl.gotFin).toBe(true);
    expect(used(mgr)).toBe(0);
  });

  test("a head whose complete lines are all valid waits for the rest", () => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    });
    const cl = client();
    for (const piece of ["GET / HT", "TP/1.1\r\n", "Host: a\r\nX-A:", " 1\r\n", "\r\n"]) {
      expect(cl.received).toBe("");
      cl.send(piece);
      sim.run();
    }
    expect(statuses(cl.received)).toEqual([200]);
    expect(used(mgr)).toBe(1);
  });

  test("408 when the header section is not complete by its deadline, fixed at the first byte", () => {
    const { sim, client, mgr } = server(() => {}, { hdrMs: 10000 });
    const cl = client();
    cl.send("GET / HTTP/1.1\r\n");
    sim.run();
    for (let i = 0; i < 9; i++) {
      sim.advance(1000);
      cl.send("X-Drip: " + i + "\r\n"); // a byte now and then does not extend the deadline
      sim.run();
    }
    expect(cl.received).toBe("");
    sim.advance(1000);
    expect(statuses(cl.received)).toEqual([408]);
    expect(cl.gotFin).toBe(true);
    expect(used(mgr)).toBe(0);
  });

  test("408 when the body is not complete by its deadline", () => {
    const { sim, client } = server(() => {}, { bodyMs: 5000 });
    const cl = client();
    cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    sim.run();
    sim.advance(5000);
    expect(statuses(cl.received)).toEqual([408]);
    expect(cl.gotFin).toBe(true);
  });

  test("413 for a streamed upload larger than maxBody", () => {
    const { sim, client } = server((c, ev, _d) => {
      if (ev === Ev.HttpHdrs) httpBodyStream(c);
    }, { maxBody: 1000 });
    const cl = client();
    cl.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n");
    sim.run();
    expect(statuses(cl.received)).toEqual([413]);
  });

  test("a half-closed connection with an incomplete request gets 400", () => {
    const { sim, client } = server(() => {});
    const cl = client();
    cl.send("GET / HTTP/1.1\r\nHo");
    cl.end();
    sim.run();
    expect(statuses(cl.received)).toEqual([400]);
    expect(cl.gotFin).toBe(true);
  });

  test("the error body says what was wrong", () => {
    const { cl } = reject("GET / HTTP/1.1\r\nHost : a\r\n\r\n");
    expect(parseResponses(cl.received).resps[0].body).toMatch(/space before colon/);
  });

  test("a handler that throws gets 500, its connection closed and its slot freed", () => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) throw new Error("bug");
    });
    const cl = client();
    cl.send(GET("/") + GET("/"));
    sim.run();
    expect(statuses(cl.received)).toEqual([500]);
    expect(cl.gotFin).toBe(true);
    expect(used(mgr)).toBe(0);
    expect(sim.logs.join("\n")).toMatch(/bug/);
  });
});

describe("pool and idle connections", () => {
  test("an idle keep-alive connection closes silently after the idle timeout", () => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    }, { idleMs: 30000 });
    const cl = client();
    cl.send(GET("/"));
    sim.run();
    cl.take();
    sim.advance(29999);
    expect(cl.gotFin).toBe(false);
    sim.advance(1);
    expect(cl.gotFin).toBe(true);
    expect(cl.take()).toBe("");
    expect(used(mgr)).toBe(0);
  });

  test("a connection that never sends anything is closed at the idle timeout", () => {
    const { sim, client, mgr } = server(() => {}, { idleMs: 5000 });
    const cl = client();
    sim.run();
    expect(used(mgr)).toBe(1);
    sim.advance(5000);
    expect(cl.gotFin).toBe(true);
    expect(used(mgr)).toBe(0);
  });

  test("pool full: the longest-idle keep-alive connection is evicted for a newcomer", () => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    }, { slots: 2 });
    const a = client();
    a.send(GET("/"));
    sim.advance(1000);
    const b = client();
    b.send(GET("/"));
    sim.advance(1000);
    const c = client();
    c.send(GET("/"));
    sim.run();
    expect(a.gotFin).toBe(true);
    expect(b.gotFin).toBe(false);
    expect(statuses(c.received)).toEqual([200]);
    expect(mgr.nevict).toBe(1);
  });

  test("a connection idle for less than evictMs is not evicted (a request may be in flight): the newcomer gets 503", () => {
    const { sim, client } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    }, { slots: 1, evictMs: 2000 });
    const a = client();
    a.send(GET("/"));
    sim.advance(1999);
    const b = client();
    sim.run();
    expect(statuses(b.received)).toEqual([503]);
    expect(a.gotFin).toBe(false);
    sim.advance(1);
    const c = client();
    c.send(GET("/"));
    sim.run();
    expect(a.gotFin).toBe(true);
    expect(statuses(c.received)).toEqual([200]);
  });

  test("every slot busy: 503 with Retry-After and close; busy connections are never evicted", () => {
    const { sim, client, pending, mgr } = deferring({ slots: 2 });
    const a = client();
    const b = client();
    a.send(GET("/a"));
    b.send(GET("/b"));
    sim.run();
    const c = client();
    sim.run();
    const r = parseResponses(c.received).resps;
    expect(r.map((x) => x.status)).toEqual([503]);
    expect(r[0].headers["retry-after"]).toBeDefined();
    expect(c.gotFin).toBe(true);
    expect(a.gotFin || b.gotFin).toBe(false);
    pending[0].reply(200, "", "a");
    pending[1].reply(200, "", "b");
    sim.run();
    expect(bodies(a.received)).toEqual(["a"]);
    expect(bodies(b.received)).toEqual(["b"]);
    expect(used(mgr)).toBe(2);
    expect(sim.openSockets()).toBe(2);
  });

  test("a slow sender makes room for a newcomer with a 408; the oldest slow one goes first", () => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    }, { slots: 2, minRate: 100 });
    const a = client();
    a.send("GET / HT");
    sim.advance(10);
    const b = client();
    b.send("GET / H");
    sim.run();
    const c = client();
    c.send(GET("/"));
    sim.run();
    expect(statuses(a.received)).toEqual([408]);
    expect(a.gotFin).toBe(true);
    expect(b.closed).toBe(false);
    expect(statuses(c.received)).toEqual([200]);
    expect(mgr.nevict).toBe(1);
  });

  test("a head arriving at the minimum rate keeps its slot: the newcomer gets 503", () => {
    const { sim, client } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    }, { slots: 1, minRate: 100 });
    const a = client();
    a.send("GET / HTTP/1.1\r\nX-Long: " + "v".repeat(100));
    sim.advance(900);
    a.send("w".repeat(100));
    sim.advance(900);
    const c = client();
    sim.run();
    expect(statuses(c.received)).toEqual([503]);
    expect(a.closed).toBe(false);
    a.send("\r\nHost: a\r\n\r\n");
    sim.run();
    expect(statuses(a.received)).toEqual([200]);
  });

  test("an upload in progress is busy: never evicted", () => {
    const { sim, client } = server((c, ev, _d) => {
      if (ev === Ev.HttpHdrs) httpBodyStream(c);
    }, { slots: 1 });
    const a = client();
    a.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc");
    sim.run();
    const b = client();
    sim.run();
    expect(statuses(b.received)).toEqual([503]);
    expect(a.gotFin).toBe(false);
  });
});

describe("HTTP features", () => {
  test("a streamed upload arrives as HttpBody pieces, then HttpMsg", () => {
    let got = "";
    let msgLen = -1;
    const { sim, client } = server((c, ev, data) => {
      if (ev === Ev.HttpHdrs) httpBodyStream(c);
      else if (ev === Ev.HttpBody) got += Buffer.from(data).toString("latin1");
      else if (ev === Ev.HttpMsg) {
        msgLen = data.len;
        httpReply(c, 200, "", "stored " + data.len);
      }
    }, { rxSize: 512, maxBody: 100000 });
    const body = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(i % 256)).join("");
    const cl = client();
    cl.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n");
    cl.send(body, { split: [1, 700, 2000, 4999] });
    sim.run();
    expect(got).toBe(body);
    expect(msgLen).toBe(5000);
    expect(bodies(cl.received)).toEqual(["stored 5000"]);
  });

  test("a chunked upload is decoded, streamed or not", () => {
    for (const stream of [false, true]) {
      let got = "";
      const { sim, client } = server((c, ev, data) => {
        if (ev === Ev.HttpHdrs && stream) httpBodyStream(c);
        else if (ev === Ev.HttpBody) got += Buffer.from(data).toString();
        else if (ev === Ev.HttpMsg) {
          if (!stream) got = Buffer.from(data.body).toString();
          httpReply(c, 200, "", "ok");
        }
      });
      const cl = client();
      cl.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n");
      sim.run();
      expect(got).toBe("hello world");
      expect(statuses(cl.received)).toEqual([200]);
    }
  });

  test("HEAD gets the headers and Content-Length, no body", () => {
    const { sim, client } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "twelve bytes");
    });
    const cl = client();
    cl.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n" + GET("/"));
    sim.run();
    const r = parseResponses(cl.received, [true, false]).resps;
    expect(r.map((x) => [x.status, x.headers["content-length"], x.body])).toEqual([
      [200, "12", ""],
      [200, "12", "twelve bytes"],
    ]);
  });

  test("Expect: 100-continue gets an interim 100 before the final response", () => {
    const { sim, client } = server((c, ev, data) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", Buffer.from(data.body).toString());
    });
    const cl = client();
    cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    sim.run();
    expect(cl.received).toBe("HTTP/1.1 100 Continue\r\n\r\n");
    cl.send("data");
    sim.run();
    expect(statuses(cl.received)).toEqual([100, 200]);
  });

  test("a 100 Continue owed behind a response that fills the send buffer goes out when the buffer drains", () => {
    // The first response leaves less room in tx than the interim response needs, and goes out in one write.
    const { sim, client } = server((c, ev, data) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", data.method === "GET" ? "x".repeat(200) : Buffer.from(data.body).toString());
    }, { txSize: 256 });
    const cl = client();
    cl.send(GET("/big") + "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    sim.run();
    expect(statuses(cl.received)).toEqual([200, 100]);
    cl.send("data");
    sim.run();
    expect(statuses(cl.received)).toEqual([200, 100, 200]);
    expect(bodies(cl.received)[2]).toBe("data");
  });

  test("a response streamed through Write events from a small send buffer", () => {
    const total = 50000;
    let sent = 0;
    const fill = (c: Conn) => {
      while (sent < total && httpCanWrite(c)) {
        const n = Math.min(700, total - sent);
        httpWrite(c, String.fromCharCode(65 + ((sent / 700) % 26)).repeat(n));
        sent += n;
      }
    };
    const { sim, client } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) {
        httpStart(c, 200, "", total);
        fill(c);
      } else if (ev === Ev.Write) fill(c);
    }, { txSize: 1024 });
    sim.maxWrite = 536;
    const cl = client();
    cl.send(GET("/file"));
    sim.run();
    const r = parseResponses(cl.received).resps;
    expect(r.length).toBe(1);
    expect(r[0].body.length).toBe(total);
    expect(r[0].body.slice(0, 3)).toBe("AAA");
  });

  test("chunked response pieces larger than the send buffer keep their framing", () => {
    const { sim, client, pending } = deferring({ txSize: 128 });
    const cl = client();
    cl.send(GET("/"));
    sim.run();
    hStart(pending[0], 200, "", -1);
    const parts = ["a".repeat(300), "b".repeat(5), "c".repeat(1000)];
    for (const p of parts) {
      while (!hWrite(pending[0], p)) sim.run();
    }
    while (!hEnd(pending[0])) sim.run();
    sim.run();
    expect(bodies(cl.received)).toEqual([parts.join("")]);
  });

  test("header and query lookup", () => {
    let hm: { v: string | null; q: string | null; u: string } | null = null;
    const { sim, client } = server((c, ev, data) => {
      if (ev === Ev.HttpMsg) {
        const m = data as HttpMsg;
        hm = { v: httpHeader(m, "x-THING"), q: require("../src/index").httpVar(m.query, "ssid"), u: m.uri };
        httpReply(c, 200, "", "");
      }
    });
    const cl = client();
    cl.send(GET("/save?ssid=My+Net%21&x=1", "X-Thing:  value \r\n"));
    sim.run();
    expect(hm).toEqual({ v: "value", q: "My Net!", u: "/save" });
  });

  test("partial writes by the network never lose or reorder bytes", () => {
    const { sim, client } = server((c, ev, data) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", data.uri.repeat(300));
    }, { txSize: 300 });
    sim.maxWrite = 7;
    const cl = client();
    cl.send(GET("/a") + GET("/bb") + GET("/ccc"));
    sim.run();
    expect(bodies(cl.received)).toEqual(["/a".repeat(300), "/bb".repeat(300), "/ccc".repeat(300)]);
  });

  test("a client that stops reading is dropped after drainMs, freeing the slot", () => {
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "z".repeat(10000));
    }, { txSize: 512, drainMs: 10000 });
    const cl = client();
    cl.window(100);
    cl.send(GET("/"));
    sim.run();
    expect(used(mgr)).toBe(1);
    sim.advance(10000);
    expect(used(mgr)).toBe(0);
  });

  test("a closing connection (Connection: close) whose client stops reading is dropped after drainMs too", () => {
    // The whole response fits the send buffer, so the request is done and the connection drains what is left.
    const { sim, client, mgr } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "z".repeat(400));
    }, { txSize: 512, drainMs: 10000 });
    const cl = client();
    cl.window(50);
    cl.send(GET("/", "Connection: close\r\n"));
    sim.run();
    sim.advance(9000);
    expect(used(mgr)).toBe(1); // still flushing, within its drain deadline
    sim.advance(1000);
    expect(used(mgr)).toBe(0);
  });
});

describe("a head seen again (the parse is reused)", () => {
  /** What a handler can read of the message, at HttpHdrs and at HttpMsg. */
  const view = (ev: string, d: HttpMsg) =>
    [ev, d.method, d.target, d.uri, d.query, d.v, d.hn.join(","), d.hv.join(","), d.cl, d.len, Buffer.from(d.body).toString(), httpHeader(d, "x-a")].join("|");

  test("the same request twice on a keep-alive connection gives the handler the same message, body and length included", () => {
    const seen: string[] = [];
    const { sim, client } = server((c, ev, data) => {
      if (ev === Ev.HttpHdrs || ev === Ev.HttpMsg) seen.push(view(ev === Ev.HttpHdrs ? "hdrs" : "msg", data));
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    });
    const cl = client();
    const req = "POST /p?q=1 HTTP/1.1\r\nHost: dev\r\nX-A: 1\r\nContent-Length: 3\r\n\r\n";
    cl.send(req + "abc" + req + "xyz");
    sim.run();
    expect(statuses(cl.received)).toEqual([200, 200]);
    expect(seen).toEqual([
      "hdrs|POST|/p?q=1|/p|q=1|11|host,x-a,content-length|dev,1,3|3|0||1",
      "msg|POST|/p?q=1|/p|q=1|11|host,x-a,content-length|dev,1,3|3|3|abc|1",
      "hdrs|POST|/p?q=1|/p|q=1|11|host,x-a,content-length|dev,1,3|3|0||1",
      "msg|POST|/p?q=1|/p|q=1|11|host,x-a,content-length|dev,1,3|3|3|xyz|1",
    ]);
  });

  test("a head refused in between on the same slot is not taken for the valid one that follows", () => {
    const seen: string[] = [];
    const { sim, client, mgr } = server((c, ev, data) => {
      if (ev === Ev.HttpMsg) {
        seen.push(view("msg", data));
        httpReply(c, 200, "", "ok");
      }
    }, { slots: 1 });
    const good = "GET /a?x=1 HTTP/1.1\r\nHost: dev\r\nX-A: 2\r\n\r\n";
    for (const req of [good, "DELETE /b HTTP/1.1\r\nHost: other\r\nContent-Length: x\r\n\r\n", good]) {
      const cl = client();
      cl.send(req);
      cl.end();
      sim.run();
      expect(used(mgr)).toBe(0); // the one slot is free for the next client
    }
    expect(seen).toEqual(["msg|GET|/a?x=1|/a|x=1|11|host,x-a|dev,2|-1|0||2", "msg|GET|/a?x=1|/a|x=1|11|host,x-a|dev,2|-1|0||2"]);
  });

  test("the same field lines after another request line: only the request line is new, and the version and method still decide framing", () => {
    const seen: string[] = [];
    const { sim, client } = server((c, ev, data) => {
      if (ev === Ev.HttpMsg) {
        seen.push(view("msg", data) + "|" + (data.fl & F.CLOSE ? "close" : "keep") + (data.fl & F.HEAD ? "|head" : ""));
        httpReply(c, 200, "", "ok");
      }
    });
    const fields = "\r\nHost: dev\r\nX-A: 7\r\nConnection: keep-alive\r\n\r\n";
    const cl = client();
    cl.send("GET /a HTTP/1.1" + fields + "HEAD /b?z HTTP/1.1" + fields + "GET /c HTTP/1.0" + fields + "GET /d HTTP/1.1" + fields.replace("keep-alive", "close"));
    sim.run();
    expect(parseResponses(cl.received, [false, true]).resps.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(seen).toEqual([
      "msg|GET|/a|/a||11|host,x-a,connection|dev,7,keep-alive|-1|0||7|keep",
      "msg|HEAD|/b?z|/b|z|11|host,x-a,connection|dev,7,keep-alive|-1|0||7|keep|head",
      "msg|GET|/c|/c||10|host,x-a,connection|dev,7,keep-alive|-1|0||7|keep",
      "msg|GET|/d|/d||11|host,x-a,connection|dev,7,close|-1|0||7|close",
    ]);
  });

  test("field lines of the same length but other values are parsed anew, never taken for the last head's", () => {
    const seen: string[] = [];
    const { sim, client } = server((c, ev, data) => {
      if (ev === Ev.HttpMsg) {
        seen.push(data.hv.join(",") + "|" + data.cl + "|" + httpHeader(data, "x-a"));
        httpReply(c, 200, "", "ok");
      }
    });
    const cl = client();
    cl.send("GET /a HTTP/1.1\r\nHost: dev\r\nX-A: 1\r\n\r\nGET /b HTTP/1.1\r\nHost: dev\r\nX-A: 2\r\n\r\nPOST /c HTTP/1.1\r\nHost: dev\r\nX-A: 2\r\n\r\n");
    sim.run();
    expect(statuses(cl.received)).toEqual([200, 200, 200]);
    expect(seen).toEqual(["dev,1|-1|1", "dev,2|-1|2", "dev,2|-1|2"]);
  });

  test("the same field lines after a bad request line, or a version they do not suit, are refused as a full parse would", () => {
    const { sim, client } = server((c, ev, _d) => {
      if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
    });
    const te = "\r\nHost: dev\r\nTransfer-Encoding: chunked\r\n\r\n";
    const a = client();
    a.send("POST /a HTTP/1.1" + te + "0\r\n\r\n" + "POST /a HTTP/1.0" + te);
    sim.run();
    expect(statuses(a.received)).toEqual([200, 400]); // Transfer-Encoding in HTTP/1.0
    const nohost = "\r\nX-A: 1\r\n\r\n";
    const b = client();
    b.send("GET /a HTTP/1.0" + nohost + "GET /b HTTP/1.1" + nohost);
    sim.run();
    expect(statuses(b.received)).toEqual([200]); // HTTP/1.0 closes after its answer
    const c2 = client();
    c2.send("GET /a HTTP/1.1\r\nHost: d\r\n\r\n" + "GET /a\tb HTTP/1.1\r\nHost: d\r\n\r\n");
    sim.run();
    expect(statuses(c2.received)).toEqual([200, 400]);
  });

  test("a head refused once is refused again when it reaches the same slot again (a failed parse is never reused)", () => {
    const seen: string[] = [];
    const { sim, client, mgr } = server((c, ev, data) => {
      if (ev === Ev.HttpMsg) {
        seen.push(data.target);
        httpReply(c, 200, "", "ok");
      }
    }, { slots: 1 });
    const bad = "GET /x HTTP/1.1\r\nHost: dev\r\nContent-Length: x\r\n\r\n";
    for (let i = 0; i < 3; i++) {
      const cl = client();
      cl.send(bad);
      sim.run();
      expect(statuses(cl.received)).toEqual([400]);
      cl.end();
      sim.run();
      expect(used(mgr)).toBe(0);
    }
    expect(seen).toEqual([]);
  });
});
