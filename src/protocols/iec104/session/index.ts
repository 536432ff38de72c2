/** IEC 60870-5-104 sessions: state machines fed bytes, time, requests (docs/architecture.md §3, rank 2). */
export * from "./link";
export * from "./master";
export * from "./master-driver";
export * from "./outstation";
export * from "./params";
export * from "./seq";
