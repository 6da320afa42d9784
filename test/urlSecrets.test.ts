import assert from "node:assert/strict";
import { test } from "node:test";
import { withoutSecrets } from "../src/core/urlSecrets.js";

test("a connection URL is printed without its password or secret parameters, whatever they hold", () => {
  const cases: [string, string][] = [
    ["postgres://herald:s3cret@db:5432/herald", "postgres://herald:***@db:5432/herald"],
    // A URL parser takes a `/` or `?` in the password for the end of the authority and prints part of it.
    ["postgres://herald:12/34@db/herald", "postgres://herald:***@db/herald"],
    ["postgres://herald:a?b#c@db/herald", "postgres://herald:***@db/herald"],
    ["postgres://herald:p@ss@db/herald", "postgres://herald:***@db/herald"],
    ["postgres://db/herald?user=h&password=s3cret", "postgres://db/herald?user=h&password=***"],
    [
      "postgres://db/herald?sslmode=verify-full&sslpassword=k3y",
      "postgres://db/herald?sslmode=verify-full&sslpassword=***",
    ],
    ["postgres://herald@db/herald", "postgres://herald@db/herald"],
    ["rediss://:t0ken@redis:6380/0", "rediss://:***@redis:6380/0"],
    ["postgres://db/herald", "postgres://db/herald"],
  ];
  for (const [url, shown] of cases) {
    assert.equal(withoutSecrets(url), shown, url);
    for (const secret of ["s3cret", "12/34", "k3y", "t0ken", "p@ss", "a?b#c"]) {
      if (url.includes(secret)) assert.ok(!withoutSecrets(url).includes(secret), `${url} hides ${secret}`);
    }
  }
});
