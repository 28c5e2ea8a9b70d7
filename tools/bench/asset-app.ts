/**
 * Bench-only firmware entry: the runtime core (src/) on the Espruino HAL,
 * answering GET /asset with 16 384 bytes through httpReply (a body eight
 * times the send buffer, so it exercises the streamed-source path), and
 * everything else with 404. Built by tools/bench.mjs into build/bench/.
 */
import { board } from "../../boards/current";
import { espruinoHal } from "../../hal/espruino";
import { Ev, mgrInit, httpListen, httpReply } from "../../src/index";

const hal = espruinoHal(board);
const mgr = mgrInit(hal, board.limits);

// Text of a typical minified script: printable ASCII, made once at boot (bytes, so no per-request conversion).
let text = "";
const line = "function f(a,b){return a.map(function(x){return x*b+1})}/*0123456789abcdef*/\n";
while (text.length < 16384) text += line;
const ASSET = hal.codec.bytes(text.substr(0, 16384));
const HDRS = "Content-Type: text/javascript\r\nCache-Control: max-age=3600\r\n";

httpListen(mgr, board.httpPort, function (c, ev, hm) {
  if (ev !== Ev.HttpMsg) return;
  if (hm.uri === "/asset") httpReply(c, 200, HDRS, ASSET);
  else httpReply(c, 404, "Content-Type: text/plain\r\n", "not found\n");
});
