/**
 * The `datacoll-rest` subflow: one `http in` per method on the base URL → `datacoll-api` → `http
 * response`. It holds no config node (node-red issue #5449: one packaged inside a subflow module is not
 * found at run time); its `datacoll-api` finds the manager by the name or namespace in MANAGER.
 *
 * Node-RED replaces `${NAME}` only when it is a property's whole value, so one property, URL (e.g.
 * `/api/*`), is both the `http in` URL and — without its `/*` — the API's base path.
 */
const Z = "datacoll-rest";
const METHODS = ["get", "post", "put", "delete"] as const;

export interface SubflowDefinition {
  readonly id: string;
  readonly type: "subflow";
  readonly name: string;
  readonly info: string;
  readonly category: string;
  readonly color: string;
  readonly icon: string;
  readonly in: readonly unknown[];
  readonly out: readonly unknown[];
  /** The subflow's status port: what its instance shows under it in the editor. */
  readonly status: {
    readonly x: number;
    readonly y: number;
    readonly wires: readonly { id: string; port: number }[];
  };
  readonly env: readonly Readonly<Record<string, unknown>>[];
  readonly meta: Readonly<Record<string, string>>;
  readonly flow: readonly Readonly<Record<string, unknown>>[];
}

/** Property labels per language, from the node's locale files: `{ "en-US": { manager, url, maxBody } }`. */
export type Labels = Readonly<Record<string, Readonly<Record<"manager" | "url" | "maxBody", string>>>>;

function label(labels: Labels, name: "manager" | "url" | "maxBody"): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([lang, l]) => [lang, l[name]]));
}

export function subflowDefinition(info: string, version: string, labels: Labels): SubflowDefinition {
  return {
    id: Z,
    type: "subflow",
    name: "rest",
    info,
    category: "datacoll",
    color: "#a6bbcf",
    icon: "datacoll-api.svg",
    in: [],
    out: [],
    // The API node's status (its base path, or why it has no manager) is the rest node's status.
    status: { x: 520, y: 220, wires: [{ id: `${Z}-status`, port: 0 }] },
    env: [
      {
        name: "MANAGER",
        type: "str",
        value: "dc:",
        ui: {
          label: label(labels, "manager"),
          type: "input",
          opts: { types: ["str"] },
        },
      },
      {
        name: "URL",
        type: "str",
        value: "/api/*",
        ui: {
          label: label(labels, "url"),
          type: "input",
          opts: { types: ["str"] },
        },
      },
      {
        name: "MAX_BODY",
        type: "num",
        value: "1000000",
        ui: {
          label: label(labels, "maxBody"),
          type: "input",
          opts: { types: ["num"] },
        },
      },
    ],
    meta: { module: "@datacoll/node-red-scada", type: "datacoll-rest", version, license: "Apache-2.0" },
    flow: [
      ...METHODS.map((method, i) => ({
        id: `${Z}-in-${method}`,
        type: "http in",
        z: Z,
        name: method.toUpperCase(),
        url: "${URL}",
        method,
        upload: false,
        swaggerDoc: "",
        x: 120,
        y: 60 + i * 50,
        wires: [[`${Z}-api`]],
      })),
      {
        id: `${Z}-api`,
        type: "datacoll-api",
        z: Z,
        name: "",
        manager: "",
        managerName: "${MANAGER}",
        basePath: "${URL}",
        maxBody: "${MAX_BODY}",
        x: 330,
        y: 135,
        wires: [[`${Z}-out`]],
      },
      {
        id: `${Z}-status`,
        type: "status",
        z: Z,
        name: "",
        scope: [`${Z}-api`],
        x: 330,
        y: 220,
        wires: [[]],
      },
      {
        id: `${Z}-out`,
        type: "http response",
        z: Z,
        name: "",
        statusCode: "",
        headers: {},
        x: 520,
        y: 135,
        wires: [],
      },
    ],
  };
}
