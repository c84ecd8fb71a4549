// Bahasa Indonesia for bpmn.io's form-js editor, which has no translate service of its own (dmn-js does:
// dmn-id.js). Its palette and properties panel are rendered by preact with fixed English texts; this
// translates the texts and the placeholder/title attributes of those two parts of the page as they are
// drawn (a MutationObserver), and never the owner's form itself (labels they typed stay as typed).
// A text not listed here stays English.
const TEXTS = {
  // palette
  "Components": "Komponen", "Search components": "Cari komponen", "No components found.": "Komponen tidak ditemukan.",
  "Input": "Isian", "Selection": "Pilihan", "Presentation": "Tampilan", "Containers": "Wadah", "Action": "Tombol",
  "Text field": "Isian teks", "Text area": "Isian teks panjang", "Number": "Angka", "Date time": "Tanggal dan jam",
  "Select": "Daftar pilihan", "Radio group": "Pilihan tunggal", "Checkbox": "Kotak centang",
  "Checkbox group": "Daftar centang", "Tag list": "Daftar tag", "Text view": "Teks", "Separator": "Garis pemisah",
  "Spacer": "Jarak", "Image view": "Gambar", "Table": "Tabel", "HTML view": "HTML", "Group": "Grup",
  "Dynamic list": "Daftar dinamis", "Button": "Tombol", "Expression": "Ekspresi", "Text": "Teks",
  // canvas when empty
  "Build your form": "Susun formulir Anda",
  "Drag and drop components here to start designing.": "Seret komponen ke sini untuk mulai menyusun.",
  "Drag and drop components here.": "Seret komponen ke sini.",
  "Use the preview window to test your form.": "Gunakan pratinjau untuk mencoba formulir Anda.",
  // properties panel: groups
  "General": "Umum", "Condition": "Syarat tampil", "Validation": "Validasi", "Constraints": "Batasan",
  "Layout": "Tata letak", "Appearance": "Penampilan", "Serialization": "Format nilai",
  "Custom properties": "Properti tambahan", "Options source": "Sumber pilihan", "Static options": "Pilihan tetap",
  // properties panel: entries
  "Field label": "Label isian", "Field description": "Keterangan isian", "Key": "Kunci",
  "Binds to a form variable": "Nama data yang diisi oleh isian ini", "Default value": "Nilai awal",
  "Required": "Wajib diisi", "Minimum length": "Panjang minimum", "Maximum length": "Panjang maksimum",
  "Minimum": "Minimum", "Maximum": "Maksimum", "Validation pattern": "Pola validasi",
  "Custom regular expression": "Ekspresi reguler sendiri", "Custom error message": "Pesan kesalahan sendiri",
  "Label": "Label", "Value": "Nilai", "Read only": "Hanya baca", "Disabled": "Nonaktif", "Type": "Jenis",
  "Columns": "Kolom", "Auto": "Otomatis", "Prefix": "Awalan", "Suffix": "Akhiran", "Increment": "Kelipatan",
  "Decimal digits": "Angka desimal", "Subtype": "Subjenis", "Date label": "Label tanggal",
  "Time label": "Label jam", "Use 24h": "Format 24 jam", "Time format": "Format jam",
  "Time interval": "Selang waktu", "Disallow past dates": "Tanggal lampau tidak boleh", "Searchable": "Bisa dicari",
  "Checked": "Dicentang", "Not checked": "Tidak dicentang", "Content": "Isi", "Height": "Tinggi",
  "Static": "Tetap", "Input data": "Data masukan", "Phone": "Telepon", "Custom": "Sendiri", "Email": "Surel",
  "<none>": "<tidak ada>", "<empty>": "<kosong>", "ID": "ID", "Hide if": "Sembunyikan jika",
  "Create": "Tambah", "Create new list item": "Tambah butir", "Delete item": "Hapus butir",
  "Toggle section": "Buka/tutup bagian", "Toggle list item": "Buka/tutup butir",
  "Section contains an error": "Bagian ini berisi kesalahan", "Section contains edits": "Bagian ini sudah diubah",
  "Open documentation": "Buka dokumentasi", "Learn more": "Selengkapnya", "Clear content": "Kosongkan",
  "Select a form field to edit its properties.": "Pilih isian pada formulir untuk mengubah propertinya.",
  "Form": "Formulir", "Version tag": "Label versi", "Allows arbitrary precision values": "Nilai dengan presisi bebas",
  "Output as string": "Keluaran sebagai teks",
};
const ATTRIBUTES = ["placeholder", "title", "aria-label"];
const PARTS = ".fjs-palette, .fjs-palette-container, .fjs-properties-panel, .fjs-properties-container, .fjs-editor-properties-container, .fjs-empty-editor";

function translateText(node) {
  const text = node.nodeValue.trim();
  const translated = TEXTS[text];
  if (translated !== undefined && translated !== text) node.nodeValue = node.nodeValue.replace(text, translated);
}

function translateElement(element) {
  for (const name of ATTRIBUTES) {
    const value = element.getAttribute(name);
    if (value && TEXTS[value.trim()] !== undefined) element.setAttribute(name, TEXTS[value.trim()]);
  }
}

function translateWithin(part) {
  const walker = document.createTreeWalker(part, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
  translateElement(part);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) translateText(node);
    else translateElement(node);
  }
}

function insidePart(node) {
  const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
  return element ? element.closest(PARTS) : null;
}

// Translates the editor drawn inside ``container`` now and whenever it draws again.
export function translateFormEditor(container) {
  container.querySelectorAll(PARTS).forEach(translateWithin);
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      if (mutation.type === "characterData") {
        if (insidePart(mutation.target)) translateText(mutation.target);
      } else if (mutation.type === "attributes") {
        if (insidePart(mutation.target)) translateElement(mutation.target);
      } else {
        for (const node of mutation.addedNodes) {
          const part = insidePart(node);
          if (!part) {
            if (node.nodeType === Node.ELEMENT_NODE) node.querySelectorAll(PARTS).forEach(translateWithin);
          } else if (node.nodeType === Node.TEXT_NODE) translateText(node);
          else translateWithin(node);
        }
      }
    }
  }).observe(container, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ATTRIBUTES });
}
