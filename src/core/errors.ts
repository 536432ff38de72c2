/**
 * Errors carry a stable code (for the editor's translations and for callers that branch on it),
 * the field at fault when there is one, and a message a plant engineer understands.
 */
export class DataCollError extends Error {
  readonly code: string;
  readonly field: string | undefined;

  constructor(code: string, message: string, field?: string) {
    super(message);
    this.name = "DataCollError";
    this.code = code;
    this.field = field;
  }
}

/** Narrow an unknown thrown value to a message without losing the original text. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
