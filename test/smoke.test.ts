import { Ev, httpReply } from "../src/index";
import { server, parseResponses } from "./util";

test("a GET is answered", () => {
  const { sim, client } = server((c, ev, data) => {
    if (ev === Ev.HttpMsg) httpReply(c, 200, "Content-Type: text/plain\r\n", "hello " + data.uri);
  });
  const cl = client();
  cl.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  sim.run();
  const { resps } = parseResponses(cl.received);
  expect(resps.map((r) => [r.status, r.body])).toEqual([[200, "hello /x"]]);
  expect(cl.gotFin).toBe(false);
});
