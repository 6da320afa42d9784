/** Loads the JSON Schemas of `schemas/` (shipped beside `dist/`) and the ajv instance that compiles them. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";

/** `schemas/` at the package root; this file runs from `dist/src/`. */
export const schemasDir = fileURLToPath(new URL("../../schemas/", import.meta.url));

export function loadSchema(fileName: string): Record<string, unknown> {
  return JSON.parse(readFileSync(schemasDir + fileName, "utf8")) as Record<string, unknown>;
}

/**
 * An ajv instance that knows Herald's annotation keywords.
 * `x-message` is the user-facing text answered when a keyword beside it fails; `verbose` gives each error its
 * `parentSchema`, which is where the text is read from. `useDefaults` fills in the schema's `default`s.
 * `x-null-is-absent`, on an object schema, lists the keys whose `null` (a YAML key written with no value) means the
 * key is left out, so that its default applies: it runs before the schema's other keywords, defaults included.
 */
export function createAjv(options: { allErrors: boolean; useDefaults?: boolean }): Ajv {
  const ajv = new Ajv({ ...options, verbose: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword({ keyword: "x-message", schemaType: "string" });
  ajv.addKeyword({
    keyword: "x-null-is-absent",
    schemaType: "array",
    modifying: true,
    // The first keyword ajv evaluates: before `if`/`allOf`/`$ref` look at the keys, and before `properties` fills
    // in defaults.
    before: "$comment",
    validate: (keys: string[], data: unknown) => {
      if (typeof data === "object" && data !== null && !Array.isArray(data)) {
        const object = data as Record<string, unknown>;
        for (const key of keys) if (object[key] === null) delete object[key];
      }
      return true;
    },
  });
  return ajv;
}
