/**
 * The board a build targets. This file is the stand-in the type checker and
 * the tests see (the ESP32 profile); `make bundle BOARD=<name>` aliases the
 * module path `boards/current` to `boards/<name>.ts`, so device code imports
 * its board from here and never names one.
 */
export { board } from './esp32';
