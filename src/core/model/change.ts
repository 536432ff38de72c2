/** A registry change as announced to every instance: which entity, which id, what happened. */

export const ENTITY_KINDS = ["device", "term", "item", "point", "formula"] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export type ChangeOp = "create" | "update" | "delete";

export interface RegistryChange {
  readonly kind: EntityKind;
  /** The entity's id; for a point, its point key. */
  readonly id: string;
  readonly op: ChangeOp;
}
