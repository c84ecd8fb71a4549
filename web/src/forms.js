// The modeler's "Formulir" tab: the owner's forms (form-js JSON, each with an id that a user task's
// form_key names) deployed with the version, edited with bpmn.io's form-js editor; "Formulir baru" starts
// an empty one. The server checks every form when the diagram is validated or deployed (components it
// cannot check are refused there, naming the step). The diagram's "Validasi" and "Deploy" send the forms
// along (window.kiaForms.files); the user task panel offers their ids (window.kiaForms.ids).
// Page data: #form-editor[data-version-url].
import "@bpmn-io/form-js-viewer/dist/assets/form-js.css";
import "@bpmn-io/form-js-editor/dist/assets/form-js-editor.css";
import "@bpmn-io/form-js-editor/dist/assets/dragula.css";
import "@bpmn-io/form-js-editor/dist/assets/properties-panel.css";
import { FormEditor } from "@bpmn-io/form-js-editor";
import { translateFormEditor } from "./forms-id.js";

const FORM_ID = /^[A-Za-z_][A-Za-z0-9_.-]{0,49}$/;
const SCHEMA_VERSION = 16;

function el(tag, content, attrs = {}) {
  const node = document.createElement(tag);
  if (content !== undefined && content !== null) node.textContent = content;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

async function start(root) {
  const picker = root.querySelector("#form-file");
  const canvas = root.querySelector("#form-canvas");
  const newId = root.querySelector("#form-new-id");
  const message = root.querySelector("#form-message");
  const forms = []; // form-js schemas of this version, edited in place (each keeps its id)
  let current = -1;
  const editor = new FormEditor({ container: canvas });
  translateFormEditor(canvas); // its palette and properties panel in Bahasa Indonesia

  const response = await fetch(root.dataset.versionUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`versi ${response.status}`);
  for (const form of (await response.json()).forms || []) forms.push(form);

  function keep() {
    if (current < 0) return;
    const id = forms[current].id;
    forms[current] = { ...editor.saveSchema(), id }; // the id is what the steps name: it stays
  }

  async function open(index) {
    keep();
    current = index;
    picker.value = String(index);
    await editor.importSchema(forms[index]);
    canvas.hidden = false;
  }

  function list() {
    picker.replaceChildren(...forms.map((form, index) => el("option", form.id, { value: String(index) })));
    picker.disabled = !forms.length;
  }

  const say = (text, kind) => { message.textContent = text; message.dataset.kind = kind; };
  picker.addEventListener("change", () => open(Number(picker.value)));
  root.querySelector("#form-new").addEventListener("click", async () => {
    const id = newId.value.trim();
    if (!FORM_ID.test(id)) {
      say("Id formulir diawali huruf, paling banyak 50 huruf, angka, _ . atau - (mis. persetujuan_kasi).", "error");
      return;
    }
    keep();
    if (forms.some((form) => form.id === id)) {
      say(`Formulir ${id} sudah ada.`, "error");
      return;
    }
    forms.push({ id, type: "default", schemaVersion: SCHEMA_VERSION, components: [] });
    list();
    newId.value = "";
    await open(forms.length - 1);
    say(`Formulir ${id} dibuat: seret komponen dari palet ke formulir, lalu pilih formulir ini pada tugas di diagram (properti Formulir).`, "ok");
    document.dispatchEvent(new CustomEvent("kia:forms-changed"));
  });

  window.kiaForms = {
    files() {
      keep();
      return forms.map((form) => ({ id: form.id, json: JSON.stringify(form) }));
    },
    ids() { return forms.map((form) => form.id); },
    editor,
  };
  list();
  if (forms.length) await open(0);
  else canvas.hidden = true;
  root.dataset.ready = "true";
}

const root = document.getElementById("form-editor");
if (root) {
  start(root).catch((error) => {
    root.dataset.ready = "error";
    root.querySelector("#form-message").textContent = "Editor formulir tidak dapat dimuat.";
    console.error(error);
  });
}
