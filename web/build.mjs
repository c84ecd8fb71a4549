// Bundles the bpmn-js viewer (staff) and modeler (process owners), the dmn-js decision table editor (the
// modeler's "Tabel keputusan" tab) and the form-js editor (its "Formulir" tab) into static/dist
// (gitignored).
import { build } from "esbuild";

await build({
  entryPoints: { viewer: "src/viewer.js", modeler: "src/modeler.js", dmn: "src/dmn.js", forms: "src/forms.js" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: "static/dist",
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".eot": "dataurl", ".ttf": "dataurl", ".svg": "dataurl" },
  logLevel: "warning",
  legalComments: "linked",
  // one preact for every bundle: the form-js editor asks for its own older copy (nested under it), its
  // viewer and properties panel use the top-level one, and two copies in one page break the hooks
  alias: { preact: "./node_modules/preact" },
});
