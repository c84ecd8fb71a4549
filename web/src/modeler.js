// The process owner's modeler: bpmn-js with a small properties panel for the user tasks' form and time
// standard (spiffworkflow:properties; durations picked in menit / jam / hari) and the lanes' scope (a
// lane's id is the role that works it; "scope=kecamatan": its officers of the application's kecamatan), "Validasi" (the server's
// lint and dry run: errors marked on the elements, the failing path coloured) and "Deploy" (the next
// version; both send the owner's forms and the decision tables of the other tabs along). A user task's
// form is a built-in one or one of the "Formulir" tab. Page data: #modeler[data-*] and
// <script id="modeler-config">.
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import Modeler from "bpmn-js/lib/Modeler";
import spiffworkflow from "./spiffworkflow.json";

const config = JSON.parse(document.getElementById("modeler-config")?.textContent || "{}");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const PROPERTY_NAMES = ["form_key", "time_standard", "time_basis"];

function text(tag, content, attrs = {}) {
  const node = document.createElement(tag);
  if (content !== undefined) node.textContent = content;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

function propertiesOf(bo) {
  const values = bo.extensionElements?.values || [];
  return values.find((v) => v.$type === "spiffworkflow:Properties");
}

function readProperty(bo, name) {
  const props = propertiesOf(bo);
  const prop = props?.values?.find((p) => p.name === name);
  return prop ? prop.value || "" : "";
}

function writeProperty(modeler, element, name, value) {
  const moddle = modeler.get("moddle");
  const modeling = modeler.get("modeling");
  const bo = element.businessObject;
  let ext = bo.extensionElements;
  if (!ext) {
    ext = moddle.create("bpmn:ExtensionElements", { values: [] });
    modeling.updateProperties(element, { extensionElements: ext });
  }
  let props = propertiesOf(bo);
  if (!props) {
    props = moddle.create("spiffworkflow:Properties", { values: [] });
    modeling.updateModdleProperties(element, ext, { values: [...(ext.values || []), props] });
  }
  const existing = (props.values || []).find((p) => p.name === name);
  if (existing) {
    modeling.updateModdleProperties(element, existing, { value });
  } else {
    const prop = moddle.create("spiffworkflow:Property", { name, value });
    modeling.updateModdleProperties(element, props, { values: [...(props.values || []), prop] });
  }
}

function removeProperty(modeler, element, name) {
  const props = propertiesOf(element.businessObject);
  const kept = (props?.values || []).filter((p) => p.name !== name);
  if (props && kept.length !== props.values.length) {
    modeler.get("modeling").updateModdleProperties(element, props, { values: kept });
  }
}

function field(label, input, hint) {
  const wrap = text("label", undefined, { class: "field" });
  wrap.append(text("span", label), input);
  if (hint) wrap.append(text("small", hint));
  return wrap;
}

function renderPanel(modeler, panel, element) {
  panel.replaceChildren();
  if (!element) {
    panel.append(text("p", "Pilih satu elemen untuk melihat dan mengubah propertinya.", { class: "muted" }));
    return;
  }
  const bo = element.businessObject;
  panel.append(text("h3", bo.name || bo.id), text("p", `${bo.$type.replace("bpmn:", "")} · id ${bo.id}`,
    { class: "muted" }));
  const name = text("input", undefined, { type: "text", name: "name", value: bo.name || "" });
  name.addEventListener("change", () => modeler.get("modeling").updateLabel(element, name.value));
  panel.append(field("Nama", name));
  if (bo.$type === "bpmn:BusinessRuleTask") {
    renderDecisionField(modeler, panel, element);
    return;
  }
  if (bo.$type === "bpmn:Lane") {
    renderLane(modeler, panel, element);
    return;
  }
  if (bo.$type !== "bpmn:UserTask") return;

  const form = text("select", undefined, { name: "form_key" });
  const current = readProperty(bo, "form_key");
  const owned = window.kiaForms?.ids() || [];
  const choices = [
    ...(config.forms || []).map((option) => [option.key, `${option.title} (${option.key})`]),
    ...owned.map((id) => [id, `${id} (formulir pemilik proses)`]),
  ];
  if (current && !choices.some(([key]) => key === current)) choices.push([current, `${current} (tidak ada)`]);
  for (const [key, label] of choices) {
    const opt = text("option", label, { value: key });
    if (key === current) opt.selected = true;
    form.append(opt);
  }
  if (!current) form.prepend(text("option", "— pilih formulir —", { value: "", selected: "" }));
  const duration = parseDuration(readProperty(bo, "time_standard"));
  const amount = text("input", undefined, {
    type: "number", name: "time_amount", min: "1", step: "1", value: duration ? String(duration.amount) : "",
  });
  const unit = text("select", undefined, { name: "time_unit" });
  for (const [value, label] of DURATION_UNITS) {
    const opt = text("option", label, { value });
    if (value === (duration?.unit || "jam")) opt.selected = true;
    unit.append(opt);
  }
  const basis = text("select", undefined, { name: "time_basis" });
  const basisValue = readProperty(bo, "time_basis") || "working";
  for (const [value, label] of [["working", "Kerja (hari dan jam kerja kantor)"], ["calendar", "Kalender (24 jam)"]]) {
    const opt = text("option", label, { value });
    if (value === basisValue) opt.selected = true;
    basis.append(opt);
  }
  const standard = text("span", undefined, { class: "duration" });
  standard.append(amount, unit);
  const stored = text("small", `Tersimpan: ${readProperty(bo, "time_standard") || "—"}`, { "data-iso": "" });
  panel.append(
    field("Formulir (form_key)", form, "formulir bawaan atau formulir dari tab Formulir"),
    field("Standar waktu", standard, "menit / jam / hari; dihitung menurut dasar waktu di bawah"),
    stored,
    field("Dasar waktu", basis),
  );
  form.addEventListener("change", () => writeProperty(modeler, element, "form_key", form.value.trim()));
  basis.addEventListener("change", () => writeProperty(modeler, element, "time_basis", basis.value));
  for (const input of [amount, unit]) {
    input.addEventListener("change", () => {
      const iso = isoDuration(amount.value, unit.value);
      if (input === unit && !iso) return; // a unit without an amount: nothing to store yet
      writeProperty(modeler, element, "time_standard", iso);
      stored.textContent = `Tersimpan: ${iso || "—"}`;
    });
  }
}

// A business-rule task names the decision table it calls (spiffworkflow:calledDecisionId): one of the
// tables of the "Tabel keputusan" tab, which are deployed with the diagram.
function renderDecisionField(modeler, panel, element) {
  const bo = element.businessObject;
  const values = bo.extensionElements?.values || [];
  const called = values.find((v) => v.$type === "spiffworkflow:CalledDecisionId");
  const select = text("select", undefined, { name: "called_decision" });
  const ids = window.kiaDecisions?.decisionIds() || [];
  const current = called?.value || "";
  for (const id of new Set([...ids, ...(current ? [current] : [])])) {
    const opt = text("option", id, { value: id });
    if (id === current) opt.selected = true;
    select.append(opt);
  }
  if (!current) select.prepend(text("option", "— pilih tabel keputusan —", { value: "", selected: "" }));
  panel.append(field("Tabel keputusan (calledDecisionId)", select, "tabel dari tab Tabel keputusan"));
  select.addEventListener("change", () => {
    const moddle = modeler.get("moddle");
    const modeling = modeler.get("modeling");
    let ext = bo.extensionElements;
    if (!ext) {
      ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      modeling.updateProperties(element, { extensionElements: ext });
    }
    const existing = (ext.values || []).find((v) => v.$type === "spiffworkflow:CalledDecisionId");
    if (existing) {
      modeling.updateModdleProperties(element, existing, { value: select.value });
    } else {
      const entry = moddle.create("spiffworkflow:CalledDecisionId", { value: select.value });
      modeling.updateModdleProperties(element, ext, { values: [...(ext.values || []), entry] });
    }
  });
}

// A lane is a role: its id is what a supervisor gives an officer, its name what people read; its tasks go
// to every officer of the role, or (scope=kecamatan) to those of the application's kecamatan only.
function renderLane(modeler, panel, element) {
  const bo = element.businessObject;
  panel.append(text("p", `Peran petugas bagian (lane) ini: ${bo.id} (huruf kecil, angka, garis bawah)`, { class: "muted" }));
  const scoped = text("input", undefined, { type: "checkbox", name: "scope" });
  scoped.checked = readProperty(bo, "scope") === "kecamatan";
  const wrap = text("label", undefined, { class: "choice" });
  wrap.append(scoped, " Tugas hanya untuk petugas di kecamatan permohonan (seperti Ka. UPTD)");
  panel.append(wrap);
  scoped.addEventListener("change", () => {
    if (scoped.checked) writeProperty(modeler, element, "scope", "kecamatan");
    else removeProperty(modeler, element, "scope");
  });
}

// Durations in the office's terms, stored as ISO 8601 (PT5M, PT1H, P1D) in time_standard.
const DURATION_UNITS = [["menit", "menit"], ["jam", "jam"], ["hari", "hari"]];

function isoDuration(amount, unit) {
  const n = Number.parseInt(amount, 10);
  if (!Number.isFinite(n) || n < 1) return "";
  return unit === "hari" ? `P${n}D` : unit === "menit" ? `PT${n}M` : `PT${n}H`;
}

function parseDuration(iso) {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(iso || "");
  if (!match || iso === "P" || iso.endsWith("T")) return null;
  const [days, hours, minutes] = match.slice(1).map((v) => Number(v || 0));
  if (days && !hours && !minutes) return { amount: days, unit: "hari" };
  if (days) return null; // days with hours: not expressible as one amount of one unit
  if (hours && !minutes) return { amount: hours, unit: "jam" };
  return { amount: hours * 60 + minutes, unit: "menit" };
}

function showProblems(modeler, list, problems, paths = []) {
  const canvas = modeler.get("canvas");
  const registry = modeler.get("elementRegistry");
  const overlays = modeler.get("overlays");
  overlays.remove({ type: "kia-lint" });
  for (const element of registry.getAll()) canvas.removeMarker(element.id, "kia-error");
  list.replaceChildren();
  showFailingPaths(modeler, list, paths);
  for (const problem of problems) {
    const item = text("li", `${problem.element_id || "diagram"}: ${problem.message}`);
    const element = problem.element_id && registry.get(problem.element_id);
    if (element) {
      canvas.addMarker(element.id, "kia-error");
      overlays.add(element.id, "kia-lint", {
        position: { top: -14, right: 10 },
        html: text("span", "!", { class: "kia-lint-badge", title: problem.message }),
      });
      item.classList.add("clickable");
      item.addEventListener("click", () => modeler.get("selection").select(element));
    }
    list.append(item);
  }
}

// The dry run's failing paths: the first one coloured on the diagram, each one listed; a click on one
// colours that one instead.
function showFailingPaths(modeler, list, paths) {
  const failing = paths.filter((p) => !p.ok);
  colourPath(modeler, failing[0]);
  failing.forEach((path, index) => {
    const decisions = path.decisions.map((d) => `${nameOf(modeler, d.step)}: ${d.value}`).join(" → ");
    const item = text("li", `Jalur uji coba ${index + 1} (${decisions || "tanpa keputusan"}): ${path.problem?.message
      || path.outcome}`, { class: "clickable path", "data-path": String(index) });
    item.addEventListener("click", () => colourPath(modeler, path));
    list.append(item);
  });
}

function colourPath(modeler, path) {
  const canvas = modeler.get("canvas");
  const registry = modeler.get("elementRegistry");
  for (const element of registry.getAll()) canvas.removeMarker(element.id, "kia-path-failed");
  if (!path) return;
  const walked = new Set(path.elements);
  for (const element of registry.getAll()) {
    const onPath = element.waypoints
      ? walked.has(element.source?.id) && walked.has(element.target?.id)
      : walked.has(element.id);
    if (onPath) canvas.addMarker(element.id, "kia-path-failed");
  }
}

function nameOf(modeler, id) {
  const element = modeler.get("elementRegistry").get(id);
  return element?.businessObject?.name || id;
}

// The diagram with the owner's forms (the "Formulir" tab) and the decision tables (the "Tabel keputusan"
// tab), as the validate and deploy endpoints take them (multipart parts file, form, decision, note).
async function postDiagram(url, xml, note) {
  const body = new FormData();
  body.append("file", new Blob([xml], { type: "application/xml" }), "diagram.bpmn");
  if (note !== undefined) body.append("note", note);
  for (const form of window.kiaForms?.files() || []) {
    body.append("form", new Blob([form.json], { type: "application/json" }), `${form.id}.form.json`);
  }
  for (const decision of (await window.kiaDecisions?.files()) || []) {
    body.append("decision", new Blob([decision.xml], { type: "application/xml" }), decision.name);
  }
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin", body, headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

// Deploy asks first: a dialog with the (required) change note; resolves to the note, or null if cancelled.
function askForNote() {
  const dialog = document.getElementById("deploy-dialog");
  const note = dialog.querySelector("textarea[name=note]");
  note.value = "";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "deploy" ? note.value.trim() : null),
      { once: true });
  });
}

function problemsOf(body) {
  if (Array.isArray(body.problems)) return body.problems;
  const fields = body.error?.fields || {};
  const out = [];
  for (const [id, messages] of Object.entries(fields)) {
    for (const message of [].concat(messages)) out.push({ element_id: id === "diagram" ? "" : id, message });
  }
  if (!out.length && body.error) out.push({ element_id: "", message: body.error.message });
  return out;
}

async function start(container) {
  const modeler = new Modeler({ container, moddleExtensions: { spiffworkflow } });
  const panel = document.getElementById("properties");
  const status = document.getElementById("modeler-status");
  const problemList = document.getElementById("problems");
  const response = await fetch(container.dataset.bpmnUrl, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`diagram ${response.status}`);
  await modeler.importXML(await response.text());
  modeler.get("canvas").zoom("fit-viewport");

  let selected = null;
  modeler.on("selection.changed", ({ newSelection }) => {
    selected = newSelection.length === 1 ? newSelection[0] : null;
    renderPanel(modeler, panel, selected);
  });
  modeler.on("elements.changed", ({ elements }) => {
    if (selected && elements.some((e) => e.id === selected.id) && !panel.contains(document.activeElement)) {
      renderPanel(modeler, panel, selected);
    }
  });
  renderPanel(modeler, panel, null);
  document.addEventListener("kia:forms-changed", () => renderPanel(modeler, panel, selected));

  // unsaved changes: leaving the page asks first
  let dirty = false;
  modeler.on("commandStack.changed", () => { dirty = true; });
  window.addEventListener("beforeunload", (event) => {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });

  const say = (message, kind) => { status.textContent = message; status.dataset.kind = kind; };
  document.getElementById("validate").addEventListener("click", async () => {
    const { xml } = await modeler.saveXML({ format: true });
    const { status: code, body } = await postDiagram(container.dataset.validateUrl, xml);
    const problems = code === 200 ? body.problems || [] : problemsOf(body);
    const paths = code === 200 ? body.paths || [] : [];
    showProblems(modeler, problemList, problems, paths);
    const failed = paths.filter((p) => !p.ok).length;
    const walked = paths.length ? ` ${paths.length - failed} dari ${paths.length} jalur uji coba berhasil.` : "";
    say(problems.length ? `${problems.length} masalah ditemukan.${walked}${failed ? " Jalur yang gagal ditandai merah." : ""}`
      : `Diagram valid;${walked} Siap di-deploy.`, problems.length ? "error" : "ok");
  });
  document.getElementById("deploy").addEventListener("click", async () => {
    const note = await askForNote();
    if (!note) return;
    const { xml } = await modeler.saveXML({ format: true });
    const { status: code, body } = await postDiagram(container.dataset.deployUrl, xml, note);
    if (code === 201 || code === 200) {
      dirty = false;
      showProblems(modeler, problemList, []);
      say(code === 201 ? `Versi ${body.version} berhasil di-deploy dan kini aktif.`
        : `Tidak ada perubahan: isi ini sudah versi ${body.version}${body.active ? " (aktif)" : "; aktifkan kembali dari daftar versi"}.`,
        "ok");
      const link = text("a", "Lihat daftar versi", { href: container.dataset.versionsUrl });
      status.append(" ", link);
    } else {
      showProblems(modeler, problemList, problemsOf(body));
      say(body.error?.message || `Deploy gagal (${code}).`, "error");
    }
  });
  container.dataset.ready = "true";
  window.kiaModeler = modeler;
}

const container = document.getElementById("modeler");
if (container) {
  start(container).catch((error) => {
    container.textContent = "Modeler tidak dapat dimuat.";
    container.dataset.ready = "error";
    console.error(error);
  });
}
