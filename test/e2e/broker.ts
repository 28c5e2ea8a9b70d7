/**
 * A real Mosquitto broker for end-to-end tests (Debian's `mosquitto`, which
 * `make test` installs): started on a free loopback port with a password file
 * and no anonymous access, stopped and started again on the same port (a
 * broker restart), killed at the end. Its sessions persist across a restart
 * (persistence on, in the test's own folder). It runs as the test's user (as
 * root it would switch to `mosquitto`, who cannot read the test's folder).
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import mqtt, { MqttClient, IClientOptions } from "mqtt";

export const MOSQUITTO = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => fs.existsSync(p)) || "mosquitto";

export interface Broker {
  port: number;
  url: string;
  dir: string;
  /** Every line the broker logged. */
  log: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

/** A broker with these users (name → password), not started yet. */
export async function broker(users: { [name: string]: string }): Promise<Broker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "espweb-mqtt-"));
  const port = await freePort();
  const pw = path.join(dir, "passwd");
  fs.writeFileSync(pw, "");
  for (const u of Object.keys(users)) execFileSync("mosquitto_passwd", ["-b", pw, u, users[u]], { stdio: "pipe" });
  const conf = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, "allow_anonymous false", `password_file ${pw}`, "persistence true", `persistence_location ${dir}/`, "log_dest stdout", "log_type all", "max_keepalive 60", `user ${os.userInfo().username}`, ""].join("\n"),
  );
  let proc: ChildProcess | null = null;
  const log: string[] = [];
  const b: Broker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    log,
    async start() {
      const p = spawn(MOSQUITTO, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
      proc = p;
      const take = (d: Buffer) => log.push(...d.toString().split("\n").filter(Boolean));
      p.stdout!.on("data", take);
      p.stderr!.on("data", take);
      // Up once it accepts a connection.
      for (let i = 0; i < 100; i++) {
        if (p.exitCode !== null) throw new Error("mosquitto exited: " + log.slice(-5).join(" | "));
        const ok = await new Promise<boolean>((res) => {
          const s = net.connect(port, "127.0.0.1", () => {
            s.destroy();
            res(true);
          });
          s.on("error", () => res(false));
        });
        if (ok) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("mosquitto did not start on port " + port);
    },
    async stop() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      await new Promise<void>((res) => {
        p.once("exit", () => res());
        p.kill("SIGTERM");
      });
    },
  };
  return b;
}

/** A connected client of the test's own (the `mqtt` package). */
export async function client(b: Broker, opts: IClientOptions): Promise<MqttClient> {
  const c = mqtt.connect(b.url, { reconnectPeriod: 200, connectTimeout: 5000, ...opts });
  await new Promise<void>((res, rej) => {
    c.once("connect", () => res());
    c.once("error", rej);
  });
  return c;
}
