/** The runtime's public surface, for firmware and applications. */
export { Ev } from "./event";
export type { Handler, EvArgs } from "./event";
export { Mgr, Conn, F, send, connDrain, connClose, connect, listen, wakeup, poolUsed, connById } from "./net";
export { mgrInit, mgrPoll, mgrFree } from "./poll";
export { timerAdd, timerDel } from "./timer";
export { HttpMsg, httpHeader, httpVar, urlDecode, reason } from "./http";
export { httpListen, httpReply, httpStart, httpWrite, httpEnd, httpCanWrite, httpBodyStream, httpResp, Resp } from "./httpd";
export { limits, defaultLimits } from "./opts";
export type { Limits } from "./opts";
export { ioNew, ioAdd, ioDel, ioFree } from "./iobuf";
export type { IoBuf } from "./iobuf";
