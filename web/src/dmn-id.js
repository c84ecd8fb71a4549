// Bahasa Indonesia for the dmn-js editor: its own translate service (dmn-js keeps English where a text is
// not listed here). Placeholders such as {expressionLanguageLabel} are filled in as dmn-js does.
const TEXTS = {
  "When": "Jika", "And": "Dan", "Then": "Maka", "Annotations": "Catatan", "Annotation": "Catatan",
  "Hit policy": "Hit policy", "Hit policy:": "Hit policy:", "View DRD": "Lihat DRD",
  "Decision name": "Nama keputusan", "Decision name: ": "Nama keputusan: ",
  "Add rule": "Tambah aturan", "Add rule above": "Tambah aturan di atas", "Add rule below": "Tambah aturan di bawah",
  "Remove rule": "Hapus aturan", "Copy rule": "Salin aturan", "Cut rule": "Potong aturan", "Move rule": "Pindahkan aturan",
  "Paste rule above": "Tempel aturan di atas", "Paste rule below": "Tempel aturan di bawah",
  "Add input": "Tambah masukan", "Add output": "Tambah keluaran",
  "Add input column left": "Tambah kolom masukan di kiri", "Add input column right": "Tambah kolom masukan di kanan",
  "Add output column left": "Tambah kolom keluaran di kiri", "Add output column right": "Tambah kolom keluaran di kanan",
  "Remove input column": "Hapus kolom masukan", "Remove output column": "Hapus kolom keluaran",
  "Copy input column": "Salin kolom masukan", "Copy output column": "Salin kolom keluaran",
  "Cut input column": "Potong kolom masukan", "Cut output column": "Potong kolom keluaran",
  "Paste input column left": "Tempel kolom masukan di kiri", "Paste input column right": "Tempel kolom masukan di kanan",
  "Paste output column left": "Tempel kolom keluaran di kiri", "Paste output column right": "Tempel kolom keluaran di kanan",
  "Edit input": "Ubah masukan", "Edit output": "Ubah keluaran", "Edit": "Ubah",
  "Input": "Masukan", "Output": "Keluaran", "Input label": "Label masukan", "Input label: ": "Label masukan: ",
  "Input expression": "Ekspresi masukan", "Input expression: ": "Ekspresi masukan: ", "Input type": "Jenis masukan",
  "Output label": "Label keluaran", "Output label: ": "Label keluaran: ", "Output name": "Nama data keluaran",
  "Output name: ": "Nama data keluaran: ", "Output type": "Jenis keluaran", "Type": "Jenis", "Expression": "Ekspresi",
  "Expression language": "Bahasa ekspresi", "Expression language: {expressionLanguageLabel}": "Bahasa ekspresi: {expressionLanguageLabel}",
  "Enter expression": "Tulis ekspresi", "Add cell description": "Tambah keterangan sel",
  "Remove cell description": "Hapus keterangan sel", "Resize": "Ubah lebar", "Value": "Nilai", "Values": "Nilai",
  "Yes": "Ya", "No": "Tidak", "Input values": "Nilai masukan", "Output values": "Nilai keluaran",
  "Predefined values": "Nilai yang ditentukan", "Add values": "Tambah nilai", "No values": "Tidak ada nilai",
  "Strings must be in double quotes": "Teks harus diapit tanda kutip ganda",
};

export default {
  translate: ["value", (template, replacements = {}) =>
    (TEXTS[template] || template).replace(/{([^}]+)}/g, (_, key) => replacements[key] ?? `{${key}}`)],
};
