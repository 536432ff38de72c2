// Loaded with --require into `node-red-dev validate`: answers its download of the Flow Library catalogue
// with an empty catalogue, since this machine cannot reach it. Every other request goes out as usual
// (the npm registry is reachable). Checks that need the real catalogue (P08, N01) are judged by hand.
const Module = require("node:module");
const CATALOGUE = "https://catalogue.nodered.org/catalogue.json";
const patched = new WeakSet();
const originalLoad = Module._load;
Module._load = function (request, parent, isMain) {
  const loaded = originalLoad.call(this, request, parent, isMain);
  if (request === "axios" && loaded && typeof loaded.get === "function" && !patched.has(loaded)) {
    const get = loaded.get.bind(loaded);
    loaded.get = (url, ...rest) =>
      url === CATALOGUE ? Promise.resolve({ status: 200, data: { modules: [] } }) : get(url, ...rest);
    patched.add(loaded);
  }
  return loaded;
};
