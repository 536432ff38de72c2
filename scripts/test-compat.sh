#!/usr/bin/env bash
# `npm run test:compat`: the suite, less two load tests (below), on Node-RED 5 under Node 22. Both come
# from the npm registry into .compat/ (git-ignored): Node 22 from the `node@22` package, Node-RED from
# `node-red@5`.
# `npm test` covers Node-RED 4.1 on the machine's Node.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
compat=.compat
want_node=22
want_red=5

node22="$compat/node_modules/node/bin/node"
have_red=$(node -p "try{require('./$compat/node_modules/node-red/package.json').version}catch{''}" 2>/dev/null || true)
if [ ! -x "$node22" ] || [[ "$have_red" != $want_red.* ]]; then
  echo "test:compat: installing node@$want_node and node-red@$want_red into $compat/"
  mkdir -p "$compat"
  [ -f "$compat/package.json" ] || echo '{"name":"datacoll-compat","private":true}' > "$compat/package.json"
  npm install --prefix "$compat" --no-audit --no-fund --loglevel=error "node@$want_node" "node-red@$want_red" >/dev/null
fi
version=$("$node22" --version)
[[ "$version" == v$want_node.* ]] || { echo "test:compat: expected Node $want_node, got $version"; exit 1; }
echo "test:compat: Node $version, Node-RED $(node -p "require('./$compat/node_modules/node-red/package.json').version")"

npm run -s services
npm run -s build
# The two plant-size load tests (a million store writes, a 100,000-row CSV import: a third of the suite's
# time) measure Redis, MariaDB and our registry at size, not Node-RED or anything Node 22 changes; `npm test`
# runs them, this run leaves them out.
size_tests=(--ignore test/integration/store/bounds.test.ts --ignore test/integration/rest/import-size.test.ts)
# Node-RED 5 refuses Node 20 at its CLI; the tests load its runtime directly under Node 22. Mocha reads
# .mocharc.cjs as for `npm test`: two files at a time, its workers forked from this Node 22.
NODE_RED_PATH="$compat/node_modules/node-red" "$node22" node_modules/mocha/bin/mocha.js "${size_tests[@]}" "$@"
