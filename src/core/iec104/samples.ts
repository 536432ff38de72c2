/**
 * IEC 104 monitor data in the model's words: one sample per object of a monitor ASDU, its cause named as a
 * DataPoint cause. It is model-aware, so it lives in the core rather than in the pure session, which hands
 * up ASDUs only.
 */
import {
  Cot,
  isCounterCause,
  isInterrogationCause,
  type Asdu,
  type InformationObject,
  type MonitorObject,
  type Quality,
} from "../../protocols/iec104/codec";
import type { Cause } from "../model/datapoint";

/** Where a monitor sample came from, in the words of the core's DataPoint cause (docs/architecture.md §2). */
export type SampleCause = Extract<
  Cause,
  "periodic" | "poll" | "spontaneous" | "interrogation" | "call" | "control"
>;

export function sampleCause(cot: number): SampleCause {
  if (cot === Cot.PERIODIC) return "periodic";
  if (cot === Cot.BACKGROUND) return "poll";
  if (cot === Cot.REQUEST) return "call";
  if (cot === Cot.RETURN_REMOTE || cot === Cot.RETURN_LOCAL) return "control";
  if (isInterrogationCause(cot) || isCounterCause(cot)) return "interrogation";
  return "spontaneous";
}

export interface Sample {
  readonly ioa: number;
  /** Single points as boolean; every other monitor type as a number (double points 0..3). */
  readonly value: number | boolean;
  readonly quality: Quality;
  /** The station's CP56Time2a time tag, else the time of receipt. */
  readonly ts: number;
  /** The station's time tag was marked invalid; `ts` is then the time of receipt. */
  readonly timeInvalid: boolean;
  readonly cause: SampleCause;
  /** T bit: the station sent it under test conditions; not plant data to store or alarm on. */
  readonly test: boolean;
}

/** One sample per object of a monitor ASDU: the shape the core turns into DataPoints. */
export function samplesOf(asdu: Asdu, receivedAt: number): Sample[] {
  const cause = sampleCause(asdu.cot);
  const out: Sample[] = [];
  for (const obj of asdu.objects) {
    if (!isMonitor(obj)) continue;
    const timeInvalid = obj.time?.invalid ?? false;
    const ts = obj.time !== undefined && !timeInvalid ? obj.time.epochMs : receivedAt;
    out.push({
      ioa: obj.ioa,
      value: obj.value,
      quality: obj.quality,
      ts,
      timeInvalid,
      cause,
      test: asdu.test,
    });
  }
  return out;
}

function isMonitor(obj: InformationObject): obj is MonitorObject {
  return "quality" in obj;
}
