/** The firmware entry: the board chosen at build time (boards/current), the Espruino HAL with its services, the application. */
import { board } from "../boards/current";
import { espruinoDevice } from "../hal/espruino-services";
import { startApp } from "./app";

startApp(espruinoDevice(board), board);
