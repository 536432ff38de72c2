/** IEC 60870-5-104 codec: pure functions over bytes, no I/O (docs/architecture.md §3, rank 1). */
export * from "./apci";
export * from "./asdu";
export * from "./cot";
export * from "./cp56time";
export * from "./information-objects";
export * from "./quality";
export * from "./type-ids";
