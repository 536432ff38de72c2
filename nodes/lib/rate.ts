/**
 * The rate meter lives in core (src/core/rate-meter.ts) since the check controller counts its input
 * there; the nodes that show a rate themselves keep importing it from here.
 */
export { RateMeter } from "../../src/core/rate-meter";
