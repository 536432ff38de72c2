/** The IEC 104 codec's byte helpers; they live with the framing every codec shares. */
export { asBuffer } from "../../framing/bytes";
