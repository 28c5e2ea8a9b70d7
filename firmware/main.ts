/** The firmware entry: the board chosen at build time (boards/current), the Espruino HAL with its services, the application and its UI files. */
import { board } from "../boards/current";
import { espruinoDevice } from "../hal/espruino-services";
import { startApp } from "./app";
import { uiFiles } from "./ui-files";

startApp(espruinoDevice(board), board, undefined, uiFiles);
