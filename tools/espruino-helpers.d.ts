/** Types for espruino-helpers.js, which stands in for `tslib` (see that file). */
export declare function __extends(d: Function, b: Function | null): void;
export declare function __assign<T>(t: T, ...sources: any[]): T;
export declare function __rest<T>(s: T, omit: (string | symbol)[]): T;
export declare function __spreadArray(to: any[], from: any[], pack?: boolean): any[];
export declare function __makeTemplateObject(cooked: string[], raw: string[]): TemplateStringsArray;
