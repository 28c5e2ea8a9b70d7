/** The firmware entry: the board chosen at build time (boards/current), the Espruino HAL, the application. */
import { board } from "../boards/current";
import { espruinoHal } from "../hal/espruino";
import { startApp } from "./app";

startApp(espruinoHal(board), board);
