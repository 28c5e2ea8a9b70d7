/** The web UI's files, as the build wrote them to Storage (tools/ui.mjs): the build defines `__UI__`; none in a build without it. */
import type { UiFile } from "./static";

declare const __UI__: UiFile[] | undefined;

export const uiFiles: UiFile[] = typeof __UI__ !== "undefined" ? __UI__ : [];
