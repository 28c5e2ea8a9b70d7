/** Debian's Chromium for the browser tests (driven by playwright-core), and screenshots of what a page shows. */
import * as fs from "fs";
import * as path from "path";
import { chromium, Browser, Page } from "playwright-core";
import { ROOT } from "./harness";

export const CHROMIUM = "/usr/bin/chromium";
/** Where screenshots go (git-ignored). */
export const OUT = path.join(ROOT, "test-output");
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/** Headless Chromium, with `args` added (e.g. --host-rules); fails with what to install when it is missing. */
export function launch(args: string[] = []): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(CHROMIUM + " is missing: make test installs Debian's chromium (apt-get install chromium)");
  fs.mkdirSync(OUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"].concat(args),
  });
}

/** Screenshots of what `p` shows now, at phone and desktop width, as test-output/<width>-<name>.png; the phone width after. */
export async function shoot(p: Page, name: string): Promise<void> {
  for (const [w, vp] of [["phone", PHONE], ["desktop", DESKTOP]] as const) {
    await p.setViewportSize(vp);
    await p.screenshot({ path: path.join(OUT, w + "-" + name + ".png"), fullPage: true });
  }
  await p.setViewportSize(PHONE);
}
