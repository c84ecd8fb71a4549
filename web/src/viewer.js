// Staff diagram viewer: the application's process version with the current step, the path taken and
// overdue steps marked. Page data: #diagram[data-bpmn-url] and <script id="diagram-marks" type="application/json">.
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";

const MARKERS = { done: "kia-done", current: "kia-current", overdue: "kia-overdue" };

async function show(container) {
  const marks = JSON.parse(document.getElementById("diagram-marks")?.textContent || "{}");
  const viewer = new NavigatedViewer({ container });
  const response = await fetch(container.dataset.bpmnUrl, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`diagram ${response.status}`);
  await viewer.importXML(await response.text());
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  for (const [kind, marker] of Object.entries(MARKERS)) {
    for (const id of marks[kind] || []) {
      if (registry.get(id)) canvas.addMarker(id, marker);
    }
  }
  canvas.zoom("fit-viewport");
  container.dataset.ready = "true";
  return viewer;
}

const container = document.getElementById("diagram");
if (container) {
  show(container).catch((error) => {
    container.textContent = "Diagram tidak dapat dimuat.";
    container.dataset.ready = "error";
    console.error(error);
  });
}
