/**
 * The Wi-Fi state machine (firmware/wifi.ts) and the captive portal, on the
 * simulated HAL with a stepped clock: every transition of the table,
 * deadlines, a network that vanishes and returns, a join during a scan, the
 * board without AP+STA, and what each OS's connectivity probe gets.
 */
import { Sim } from "../hal/sim";
import { startApp, App, ACT_MS } from "../firmware/app";
import { JOIN_MS, RETRY_CAP, RETRY_FIRST, RETRY_SWAP } from "../firmware/wifi";
import { board as emulator } from "../boards/emulator";
import { board as c3 } from "../boards/esp32c3";
import type { Board } from "../boards/types";
import { parseResponses, preset } from "./util";

const PW = "correct horse";
const AUTH = "Authorization: Basic " + Buffer.from("admin:" + PW).toString("base64") + "\r\n";

function boot(o: { board?: Board; saved?: object } = {}) {
  const sim = new Sim();
  sim.wifi.networks = [
    { ssid: "home", rssi: -50, channel: 6, auth: "wpa2" },
    { ssid: "cafe", rssi: -70, channel: 1, auth: "open" },
  ];
  sim.wifi.passwords = { home: "secret123" };
  sim.wifi.connectMs = 1000;
  const connects: string[] = [];
  const connect = sim.wifi.connect.bind(sim.wifi);
  sim.wifi.connect = (ssid, pass, done) => {
    connects.push(ssid + "@" + sim.now());
    connect(ssid, pass, done);
  };
  preset(sim, o.saved || {});
  const app = startApp(sim, o.board || emulator, 80) as App;
  sim.run();
  const cl = sim.connect(80, "10.0.0.9");
  cl.send("POST /api/password HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Type: application/json\r\nContent-Length: " + JSON.stringify({ password: PW }).length + "\r\n\r\n" + JSON.stringify({ password: PW }));
  sim.run();
  return { sim, app, net: app.net, connects };
}

/** Send a request now; the returned function parses what has come back by then. */
function send(sim: Sim, method: string, path: string, body?: object, host = "192.168.4.1", extra = "") {
  const b = body ? JSON.stringify(body) : "";
  const cl = sim.connect(80, "10.0.0.9");
  cl.send(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + AUTH + extra + (b ? "Content-Type: application/json\r\nContent-Length: " + b.length + "\r\n" : "") + "\r\n" + b);
  sim.run();
  return () => {
    const r = parseResponses(cl.received).resps[0];
    if (!r) throw new Error("no response yet to " + method + " " + path);
    let json: any = null;
    try {
      json = JSON.parse(r.body);
    } catch (e) {
      /* not JSON */
    }
    return { ...r, json };
  };
}

describe("first boot", () => {
  test("no station settings: the access point espweb-XXXX (open), the platform's saved config forgotten", () => {
    const { sim, net } = boot();
    expect(sim.wifi.forgotten).toBe(true);
    expect(sim.wifi.ap).toEqual({ ssid: "espweb-3F2A", password: "" });
    expect(net.state).toBe("ap");
    expect(sim.wifi.status().apIp).toBe("192.168.4.1");
  });

  test("the access point takes its name and WPA2 password from the settings; the radio's hostname is the device name's", () => {
    const { sim } = boot({ saved: { name: "Green House_2", apSsid: "greenhouse-setup", apPass: "apsecret1" } });
    expect(sim.wifi.ap).toEqual({ ssid: "greenhouse-setup", password: "apsecret1" });
    expect(sim.wifi.host).toBe("green-house-2");
    send(sim, "PUT", "/api/config", { name: "Kitchen" });
    expect(sim.wifi.host).toBe("kitchen");
  });
});

describe("joining from the UI, on a board with AP+STA", () => {
  test("joined: saved, the new address answered, the AP stays for the grace period, counting down, then goes", () => {
    const { sim, net } = boot();
    const r = send(sim, "POST", "/api/wifi/connect", { ssid: "home", password: "secret123" });
    expect(net.state).toBe("joining");
    expect(sim.wifi.ap).not.toBeNull(); // the page that asked is still connected through the AP
    sim.advance(1000);
    expect(r().json).toEqual({ ssid: "home", ip: "192.168.1.50", saved: true, apOffIn: 60 });
    expect(net.state).toBe("grace");
    sim.advance(20000);
    expect(send(sim, "GET", "/api/status")().json.wifi).toMatchObject({ state: "grace", mode: "ap+sta", apOffIn: 40, ssid: "home", ip: "192.168.1.50" });
    sim.advance(40000);
    expect(net.state).toBe("sta");
    expect(sim.wifi.ap).toBeNull();
    expect(send(sim, "GET", "/api/status")().json.wifi).toMatchObject({ state: "sta", mode: "sta", apIp: "", apOffIn: 0 });
  });

  test("the network lost during the grace period: the AP stays (fallback) and the board retries", () => {
    const { sim, net } = boot();
    send(sim, "POST", "/api/wifi/connect", { ssid: "home", password: "secret123" });
    sim.advance(1000);
    expect(net.state).toBe("grace");
    sim.wifi.dropStation();
    sim.run();
    expect(net.state).toBe("fallback");
    sim.advance(60000);
    expect(sim.wifi.ap).not.toBeNull(); // the grace timer did not take it down
    sim.wifi.networkBack("home");
    sim.advance(RETRY_CAP + 1000);
    expect(net.state).toBe("grace");
  });

  test("a second join during the grace period: the AP stays until it is done", () => {
    const { sim, net } = boot();
    send(sim, "POST", "/api/wifi/connect", { ssid: "home", password: "secret123" });
    sim.advance(1000);
    sim.advance(59000);
    sim.wifi.connectMs = 5000;
    const r = send(sim, "POST", "/api/wifi/connect", { ssid: "cafe" });
    sim.advance(2000); // past the first grace period's end
    expect(net.state).toBe("joining");
    expect(sim.wifi.ap).not.toBeNull();
    sim.advance(3000);
    expect(r().json).toMatchObject({ ssid: "cafe", apOffIn: 60 });
    expect(net.state).toBe("grace");
  });

  test("a wrong password: the reason within the deadline, the AP still up, nothing saved", () => {
    const { sim, net } = boot();
    const r = send(sim, "POST", "/api/wifi/connect", { ssid: "home", password: "wrongpass" });
    sim.advance(1000);
    expect([r().status, r().json.error]).toEqual([502, 'could not join "home": wrong password']);
    expect(net.state).toBe("ap");
    expect(sim.wifi.ap).not.toBeNull();
    expect(send(sim, "GET", "/api/config")().json.staSsid).toBe("");
    expect(send(sim, "GET", "/api/status")().json.wifi.lastError).toBe("auth");
  });

  test("a radio that never answers: failed at the deadline, back to the AP", () => {
    const { sim, net } = boot();
    sim.wifi.connectMs = 10 * JOIN_MS;
    const r = send(sim, "POST", "/api/wifi/connect", { ssid: "home", password: "secret123" });
    sim.advance(JOIN_MS);
    expect(r().json.error).toBe('could not join "home": the network did not answer in time');
    expect(net.state).toBe("ap");
  });

  test("a join during a scan: both complete", () => {
    const { sim } = boot();
    sim.wifi.scanMs = 1500;
    const s = send(sim, "GET", "/api/wifi/scan");
    sim.advance(500);
    const j = send(sim, "POST", "/api/wifi/connect", { ssid: "cafe" });
    sim.advance(1000);
    expect(s().json.networks.length).toBe(2);
    expect(j().json).toMatchObject({ ssid: "cafe", saved: true });
  });
});

describe("robustness", () => {
  test("an AP that did not start is started again until it runs", () => {
    const sim0 = new Sim();
    sim0.wifi.failAP = 2;
    const app = startApp(sim0, emulator, 80) as App;
    sim0.run();
    expect(sim0.wifi.ap).toBeNull();
    sim0.advance(5000);
    expect(sim0.wifi.ap).toBeNull();
    sim0.advance(5000);
    expect(sim0.wifi.ap).not.toBeNull();
    expect(app.net.state).toBe("ap");
  });

  test("a network saved on the Settings page is joined now; clearing it brings the AP back", () => {
    const { sim, net } = boot();
    expect(send(sim, "PUT", "/api/config", { staSsid: "home", staPass: "secret123" })().status).toBe(200);
    sim.advance(1000);
    expect(net.state).toBe("grace");
    sim.advance(60000);
    expect([net.state, sim.wifi.ap]).toEqual(["sta", null]);
    expect(send(sim, "PUT", "/api/config", { staSsid: "" })().status).toBe(200);
    expect(net.state).toBe("ap");
    expect(sim.wifi.ap).not.toBeNull();
    expect(sim.wifi.status().sta).toBe("off");
  });

  test("the app's join deadline calls the radio's attempt off (it must not join behind the app's back)", () => {
    const { sim } = boot();
    sim.wifi.connectMs = JOIN_MS + 5000;
    send(sim, "POST", "/api/wifi/connect", { ssid: "home", password: "secret123" });
    sim.advance(JOIN_MS + 6000);
    expect(sim.wifi.status().sta).toBe("off");
  });

  test("during the grace period, the board's own name on the home network is not sent to the portal", () => {
    const { sim } = boot();
    send(sim, "POST", "/api/wifi/connect", { ssid: "home", password: "secret123" });
    sim.advance(1000);
    for (const host of ["espweb", "espweb.fritz.box", "espweb.lan:80"]) expect([host, send(sim, "GET", "/api/status", undefined, host)().status]).toEqual([host, 200]);
    for (const host of ["espwebx.com", "example.com"]) expect([host, send(sim, "GET", "/api/status", undefined, host)().status]).toEqual([host, 302]);
  });
});

describe("on a board without AP+STA (esp32c3)", () => {
  test("the join is saved and answered first (which network, which name), then the AP makes way; joined, it stays a station", () => {
    const { sim, net, connects } = boot({ board: c3 });
    const r = send(sim, "POST", "/api/wifi/connect", { ssid: "home", password: "secret123" });
    expect(r().status).toBe(202);
    expect(r().json).toEqual({ switching: true, ssid: "home", name: "espweb", host: "espweb", saved: true, apSsid: "espweb-3F2A" });
    expect(sim.wifi.ap).not.toBeNull();
    expect(connects).toEqual([]);
    sim.advance(ACT_MS);
    expect(sim.wifi.ap).toBeNull();
    sim.advance(1000);
    expect(net.state).toBe("sta");
    expect(sim.wifi.ap).toBeNull();
  });

  test("a failed switch brings the AP back with the reason, and the board keeps trying", () => {
    const { sim, net, connects } = boot({ board: c3 });
    send(sim, "POST", "/api/wifi/connect", { ssid: "home", password: "wrongpass" });
    sim.advance(ACT_MS + 1000);
    expect(sim.wifi.ap).not.toBeNull();
    expect(net.state).toBe("fallback");
    expect(send(sim, "GET", "/api/status")().json.wifi.lastError).toBe("auth");
    // Each try takes the AP down: at most one every RETRY_SWAP, so a person can use the AP meanwhile.
    sim.advance(RETRY_SWAP - 1);
    expect(connects.length).toBe(1);
    expect(sim.wifi.ap).not.toBeNull();
    sim.advance(1);
    expect(connects.length).toBe(2);
    expect(sim.wifi.ap).toBeNull();
    sim.advance(1000);
    expect(sim.wifi.ap).not.toBeNull();
  });
});

describe("a joined network that goes away and comes back", () => {
  test("lost: retries with backoff; the AP and portal come back after the fallback time; back: joined, the AP leaves after the grace", () => {
    const { sim, net, connects } = boot({ saved: { staSsid: "home", staPass: "secret123", fallback: 30 } });
    sim.advance(1000);
    expect(net.state).toBe("sta");
    expect(sim.wifi.ap).toBeNull();
    connects.length = 0;
    sim.wifi.dropStation("beacon timeout");
    sim.run();
    expect(net.state).toBe("retry");
    sim.advance(29999);
    expect(sim.wifi.ap).toBeNull();
    sim.advance(1);
    expect(net.state).toBe("fallback");
    expect(sim.wifi.ap).not.toBeNull();
    // The portal answers while the AP is back.
    expect(send(sim, "GET", "/generate_204", undefined, "connectivitycheck.gstatic.com")().status).toBe(302);
    sim.advance(120000);
    // Waits between tries double from RETRY_FIRST up to RETRY_CAP (each try takes connectMs).
    const at = connects.map((c) => +c.split("@")[1]);
    const gaps = at.slice(1).map((t, i) => t - at[i] - 1000);
    expect(gaps.slice(0, 4)).toEqual([2 * RETRY_FIRST, 4 * RETRY_FIRST, 8 * RETRY_FIRST, 16 * RETRY_FIRST]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(RETRY_CAP);
    sim.wifi.networkBack("home");
    sim.advance(RETRY_CAP + 1000);
    expect(net.state).toBe("grace");
    sim.advance(60000);
    expect(net.state).toBe("sta");
    expect(sim.wifi.ap).toBeNull();
    expect(send(sim, "GET", "/generate_204", undefined, "connectivitycheck.gstatic.com")().status).toBe(404);
  });

  test("at boot with a saved network out of range: no AP until the fallback time, then the AP while it keeps trying", () => {
    const sim0 = boot({ saved: { staSsid: "nowhere", staPass: "whatever1", fallback: 20 } });
    const { sim, net } = sim0;
    expect(sim.wifi.ap).toBeNull();
    expect(net.state).toBe("retry");
    sim.advance(20000);
    expect(net.state).toBe("fallback");
    expect(sim.wifi.ap).toEqual({ ssid: "espweb-3F2A", password: "" });
  });
});

describe("the captive portal", () => {
  const probes: [string, string, string, string][] = [
    ["Android", "connectivitycheck.gstatic.com", "/generate_204", "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"],
    ["Android (gen_204)", "clients3.google.com", "/gen_204", "Dalvik/2.1.0 (Linux; U; Android 13)"],
    ["Apple", "captive.apple.com", "/hotspot-detect.html", "CaptiveNetworkSupport-481.100.1 wispr"],
    ["Apple (www)", "www.apple.com", "/library/test/success.html", "CaptiveNetworkSupport-481.100.1 wispr"],
    ["Windows", "www.msftconnecttest.com", "/connecttest.txt", "Microsoft NCSI"],
    ["Windows (redirect)", "www.msftconnecttest.com", "/redirect", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"],
    ["Windows (old)", "www.msftncsi.com", "/ncsi.txt", "Microsoft NCSI"],
    ["Windows (fwlink)", "go.microsoft.com", "/fwlink/?LinkID=219472", "Microsoft NCSI"],
    ["Firefox", "detectportal.firefox.com", "/canonical.html", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"],
  ];

  test.each(probes)("%s's probe gets a redirect to the AP's address, never its success answer", (_os, host, path, ua) => {
    const { sim } = boot();
    const r = send(sim, "GET", path, undefined, host, "User-Agent: " + ua + "\r\n")();
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe("http://192.168.4.1/");
    expect(r.headers["cache-control"]).toBe("no-store");
    expect(r.body).toContain('<a href="http://192.168.4.1/">');
    expect(r.body).not.toMatch(/Success|Microsoft Connect Test|Microsoft NCSI/);
  });

  test("the device's own address (and localhost, a .local name) is served normally", () => {
    const { sim } = boot();
    for (const host of ["192.168.4.1", "127.0.0.1:8080", "espweb.local", "localhost"]) expect(send(sim, "GET", "/api/status", undefined, host)().status).toBe(200);
  });
});
