/**
 * 10 000 mixed rounds on one long-lived manager — normal, reset, half-close,
 * parse error, timeout, deferred, pipelined, upload — must end with every slot
 * free and every socket released.
 */
import { Sim } from "../hal/sim";
import { Ev, HttpMsg, Resp, httpReply, httpResp, httpBodyStream, mgrInit, httpListen, limits, timerAdd } from "../src/index";
import { used } from "./util";

test("10 000 mixed rounds leave every slot free", () => {
  const sim = new Sim({ backlog: 16 });
  const lim = limits({ slots: 4, rxSize: 1024, txSize: 512, hdrMs: 2000, bodyMs: 3000, respMs: 4000, idleMs: 5000, drainMs: 2000 });
  const mgr = mgrInit(sim, lim);
  let answered = 0;
  let closes = 0;
  let opens = 0;
  httpListen(mgr, 80, (c, ev, data) => {
    if (ev === Ev.Open) opens++;
    else if (ev === Ev.Close) closes++;
    else if (ev === Ev.HttpHdrs && (data as HttpMsg).uri === "/up") httpBodyStream(c);
    else if (ev === Ev.HttpMsg) {
      const hm = data as HttpMsg;
      if (hm.uri === "/defer") {
        const r: Resp = httpResp(c)!;
        timerAdd(mgr, 1000 + (answered % 7) * 500, false, () => {
          if (r.reply(200, "", "deferred")) answered++;
        });
      } else if (hm.uri !== "/never") {
        if (httpReply(c, 200, "", "x".repeat(hm.uri === "/big" ? 3000 : 10))) answered++;
      }
    }
  });
  const GET = (p: string, close = false) => `GET ${p} HTTP/1.1\r\nHost: a\r\n${close ? "Connection: close\r\n" : ""}\r\n`;
  let rng = 12345;
  const rand = (n: number) => ((rng = (rng * 1103515245 + 12345) & 0x7fffffff) % n);
  const live: ReturnType<Sim["connect"]>[] = [];
  for (let round = 0; round < 10000; round++) {
    const cl = sim.connect(80);
    live.push(cl);
    switch (round % 10) {
      case 0: cl.send(GET("/", true)); break; // normal, closing
      case 1: cl.send(GET("/a") + GET("/big") + GET("/c")); break; // pipelined keep-alive
      case 2: cl.send(GET("/defer")); sim.run(); cl.reset(); break; // reset during a deferred reply
      case 3: cl.send(GET("/defer", true)); cl.end(); break; // half-close, deferred
      case 4: cl.send("GET / HTTP/1.1\r\nHost : a\r\n\r\n"); break; // parse error
      case 5: cl.send("GET / HTTP/1.1\r\nHost: a\r\n"); break; // header timeout
      case 6: cl.send(GET("/never")); break; // response deadline (503)
      case 7: cl.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n" + "u".repeat(rand(5000))); if (rand(2)) cl.reset(); break; // upload, maybe cut
      case 8: cl.send(GET("/big")); sim.run(); cl.reset(); break; // reset mid-response
      case 9: cl.send(GET("/x").slice(0, rand(20))); cl.end(); break; // truncated then FIN
    }
    sim.run();
    sim.advance(rand(1500));
    expect(used(mgr)).toBeLessThanOrEqual(lim.slots);
  }
  sim.advance(60000);
  expect(used(mgr)).toBe(0);
  expect(sim.openSockets()).toBe(0);
  expect(closes).toBe(opens);
  expect(answered).toBeGreaterThan(3000);
  // Every client ended: by FIN after its answers, its own reset, or a 503 when all slots were busy.
  for (const cl of live) expect(cl.closed).toBe(true);
});
