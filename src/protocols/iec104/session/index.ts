/** IEC 60870-5-104 sessions: state machines driven by bytes, time and requests (DESIGN.md §4 layer 2). */
export * from "./link";
export * from "./master";
export * from "./master-driver";
export * from "./outstation";
export * from "./params";
export * from "./seq";
