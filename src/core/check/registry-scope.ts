/**
 * "Every point in the registry" as a check node's scope: the older system's data-checking plugin checked
 * whatever points its registry held, wherever their samples came from. A pattern cannot say that (a demo
 * that draws one meter in the flow and takes the rest from the REST API would need "every point but the
 * drawn one"), and two check nodes whose scopes overlap reset each other's alarms. So this scope is the
 * set of registry point keys, kept up to date from the registry's change announcements.
 */
import type { PointMatcher } from "../bus/pattern";
import { pointKey, type PointKey } from "../model/datapoint";
import type { RegistryChange } from "../model/change";

export class RegistryScope implements PointMatcher {
  readonly pattern = "(registry)";
  readonly all = false;
  private readonly keys = new Set<PointKey>();

  /**
   * The registry's points as listed at start. Added to, not replacing, what changes announced meanwhile
   * (a point created while the list was read is in the set either way).
   */
  addAll(keys: Iterable<PointKey>): void {
    for (const k of keys) this.keys.add(k);
  }

  matches(p: { readonly deviceId: string; readonly termId: string; readonly itemId: string }): boolean {
    return this.keys.has(pointKey(p.deviceId, p.termId, p.itemId));
  }

  /**
   * Follow one registry change. True when it concerns a point of this scope (one added, changed, or
   * one that was in it and is gone), so its check settings must be looked at again.
   */
  apply(change: RegistryChange): boolean {
    if (change.kind !== "point") return false;
    if (change.op === "delete") return this.keys.delete(change.id);
    this.keys.add(change.id);
    return true;
  }
}
