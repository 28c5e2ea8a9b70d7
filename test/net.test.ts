/** The manager below HTTP: raw listeners, outgoing connections, timers, events. */
import { Sim } from "../hal/sim";
import { Ev, Conn, mgrInit, mgrFree, listen, connect, send, connDrain, timerAdd, timerDel, limits, ioDel } from "../src/index";
import { used } from "./util";

const lim = limits({ slots: 3, rxSize: 256, txSize: 256 });

test("a raw TCP echo server sees Open, Accept, Read, Write, Close in order", () => {
  const sim = new Sim();
  const mgr = mgrInit(sim, lim);
  const evs: Ev[] = [];
  listen(mgr, 7, (c, ev, _d) => {
    if (ev === Ev.Poll) return;
    if (evs[evs.length - 1] !== ev) evs.push(ev);
    if (ev === Ev.Read) {
      send(c, c.rx.b.subarray(0, c.rx.n));
      ioDel(c.rx, 0, c.rx.n);
    }
  });
  sim.run();
  const cl = sim.connect(7);
  cl.send("ping");
  sim.run();
  expect(cl.take()).toBe("ping");
  cl.reset();
  sim.run();
  expect(evs).toEqual([Ev.Open, Ev.Accept, Ev.Read, Ev.Write, Ev.Close]);
  expect(used(mgr)).toBe(0);
});

test("an outgoing connection gets Connect, can send and read, and drains then closes", () => {
  const sim = new Sim();
  const mgr = mgrInit(sim, lim);
  const got: string[] = [];
  listen(mgr, 9, (c, ev, _d) => {
    if (ev === Ev.Read) {
      got.push(Buffer.from(c.rx.b.subarray(0, c.rx.n)).toString());
      send(c, "pong");
      ioDel(c.rx, 0, c.rx.n);
    }
  });
  sim.run();
  let connected = false;
  let reply = "";
  let closed = false;
  const c = connect(mgr, "127.0.0.1", 9, (cc: Conn, ev, _d) => {
    if (ev === Ev.Connect) {
      connected = true;
      send(cc, "ping");
    } else if (ev === Ev.Read) {
      reply += Buffer.from(cc.rx.b.subarray(0, cc.rx.n)).toString();
      ioDel(cc.rx, 0, cc.rx.n);
      connDrain(cc);
    } else if (ev === Ev.Close) closed = true;
  });
  expect(c).not.toBeNull();
  sim.run();
  expect([connected, got, reply, closed]).toEqual([true, ["ping"], "pong", true]);
});

test("a refused outgoing connection reports Error and Close and frees its slot", () => {
  const sim = new Sim();
  const mgr = mgrInit(sim, lim);
  const evs: number[] = [];
  connect(mgr, "127.0.0.1", 1234, (_c, ev, _d) => {
    if (ev !== Ev.Poll) evs.push(ev);
  });
  sim.run();
  expect(evs).toContain(Ev.Error);
  expect(evs[evs.length - 1]).toBe(Ev.Close);
  expect(used(mgr)).toBe(0);
});

test("timers run at their time, repeat, and can be deleted", () => {
  const sim = new Sim();
  const mgr = mgrInit(sim, lim);
  const at: number[] = [];
  const rep = timerAdd(mgr, 100, true, () => at.push(sim.now()));
  timerAdd(mgr, 250, false, () => at.push(-sim.now()));
  sim.advance(350);
  timerDel(mgr, rep);
  sim.advance(1000);
  expect(at).toEqual([100, 200, -250, 300]);
});

test("listening twice on one port fails cleanly", () => {
  const sim = new Sim();
  const mgr = mgrInit(sim, lim);
  expect(listen(mgr, 80, null)).toBe(true);
  expect(listen(mgr, 80, null)).toBe(false);
});

test("mgrFree: listeners closed, every connection gets Close and its socket closes, timers never fire", () => {
  const sim = new Sim();
  const mgr = mgrInit(sim, lim);
  const closes: number[] = [];
  listen(mgr, 7, (c, ev, _d) => {
    if (ev === Ev.Close) closes.push(c.id);
  });
  let fired = 0;
  timerAdd(mgr, 100, false, () => fired++);
  sim.run();
  const a = sim.connect(7);
  const b = sim.connect(7);
  a.send("x");
  sim.run();
  expect(used(mgr)).toBe(2);
  mgrFree(mgr);
  sim.run();
  expect(closes).toHaveLength(2);
  expect(a.gotFin && b.gotFin).toBe(true);
  expect(used(mgr)).toBe(0);
  expect(sim.connect(7).refused).toBe(true);
  sim.advance(1000);
  expect(fired).toBe(0);
  expect(sim.openSockets()).toBe(0);
});
