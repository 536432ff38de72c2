/** The DataCollError a validation throws; fails the test when it does not throw one. */
import assert from "node:assert/strict";
import { DataCollError } from "../../src/core/errors";

export function rejection(fn: () => unknown): DataCollError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DataCollError, `expected a DataCollError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a rejection");
}
