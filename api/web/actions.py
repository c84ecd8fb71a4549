"""Readable Indonesian names for the audit log's action ids (``api.audit`` records a request's endpoint,
``api.auth`` and the reset page their own sign-in events). Several endpoints answer more than one method:
their label depends on it. An action without a label reads by its kind (viewing or changing)."""

from __future__ import annotations

Label = str | dict[str, str]

ACTION_LABELS: dict[str, Label] = {
    # sign-in and passwords
    "sign_in": "Masuk",
    "sign_in_failed": "Gagal masuk (kata sandi salah)",
    "sign_in_locked": "Akun dikunci sementara (terlalu banyak gagal masuk)",
    "sign_in_refused_locked": "Masuk ditolak (akun sedang dikunci)",
    "pin_failed": "PIN pemohon salah",
    "pin_locked": "Kode permohonan dikunci sementara (PIN salah berulang)",
    "pin_refused_locked": "PIN ditolak (kode sedang dikunci)",
    "pin_reissued": "PIN baru dikirim ke pemohon",
    "password_reset_link_used": "Kata sandi diatur lewat tautan sekali pakai",
    "web.sign_in": "Masuk (halaman)",
    "web.sign_out": "Keluar",
    "auth.Token": "Masuk (API)",
    "auth.SignOut": "Keluar (API)",
    "auth.Revoke": "Mencabut token API",
    "web.own_password": {"GET": "Membuka halaman ganti kata sandi", "POST": "Mengganti kata sandi sendiri"},
    # staff accounts
    "web.staff_accounts": {"GET": "Membuka daftar akun petugas", "POST": "Menambah akun petugas"},
    "web.staff_account": {"GET": "Membuka akun petugas", "POST": "Mengubah peran/kecamatan petugas"},
    "web.staff_account_status": "Mengaktifkan/menonaktifkan akun petugas",
    "web.staff_account_reset": "Mengatur ulang kata sandi petugas",
    "users.UserItem": {"GET": "Melihat akun petugas (API)", "PUT": "Mengubah kontak petugas (API)"},
    "web.notice_preferences": "Mengubah preferensi pemberitahuan",
    # tasks and applications
    "web.index": "Membuka halaman awal",
    "web.inbox": "Membuka kotak masuk",
    "web.task": "Membuka tugas",
    "web.claim": "Mengambil tugas",
    "web.release": "Melepas tugas",
    "web.hold": "Menunda tugas (kendala kantor)",
    "web.resume": "Melanjutkan tugas yang ditunda",
    "web.complete": "Menyelesaikan tugas",
    "web.group_cards": "Mengelompokkan KIA per kecamatan",
    "web.grouping_page": "Membuka halaman pengelompokan KIA",
    "web.batches_page": "Membuka daftar batch distribusi",
    "web.batch_page": "Membuka batch distribusi",
    "web.confirm_arrival": "Mengonfirmasi kedatangan KIA di UPTD",
    "web.uncollected_page": "Membuka daftar KIA yang belum diambil",
    "batches.BatchCollection": "Melihat daftar batch distribusi (API)",
    "batches.BatchItem": "Melihat batch distribusi (API)",
    "batches.BatchArrival": "Mengonfirmasi kedatangan KIA di UPTD (API)",
    "sla.UncollectedView": "Melihat daftar KIA yang belum diambil (API)",
    "web.application": "Membuka permohonan",
    "tasks.TaskCollection": "Membuka kotak masuk (API)",
    "tasks.TaskItem": "Membuka tugas (API)",
    "tasks.Claim": "Mengambil tugas (API)",
    "tasks.Unclaim": "Melepas tugas (API)",
    "tasks.Hold": "Menunda tugas (API)",
    "tasks.Resume": "Melanjutkan tugas yang ditunda (API)",
    "tasks.Complete": "Menyelesaikan tugas (API)",
    "distribution.BulkComplete": "Menyelesaikan tugas sekaligus (API)",
    "applications.ApplicationItem": "Melihat permohonan (API)",
    "applications.ApplicationCollection": "Mengirim permohonan (API)",
    "applications.ControlCardItem": "Melihat kartu kendali (API)",
    "applications.document": "Membuka dokumen permohonan",
    "documents.control_card": "Mengunduh kartu kendali (PDF)",
    "documents.receipt": "Mengunduh resi (PDF)",
    "documents.distribution": "Mengunduh rekap distribusi (PDF)",
    "documents.deliveries": "Mengunduh laporan pengiriman pesan (PDF)",
    "documents.handover_receipt": "Mengunduh tanda terima penyerahan KIA (PDF)",
    "web.status": "Membuka halaman status permohonan",
    "web.status_lookup": "Mencari status permohonan dengan kode",
    "status.Status": "Melihat status permohonan (API)",
    "incidents.IncidentsView": "Melihat insiden",
    "incidents.retry": "Mengulang langkah yang gagal",
    # calendar and reports
    "web.calendar_page": {"GET": "Membuka kalender kerja", "POST": "Menutup/membuka hari kerja"},
    "web.calendar_reset": "Mengembalikan hari ke kalender biasa",
    "calendar.OverrideCollection": {"GET": "Melihat kalender kerja (API)", "POST": "Menutup/membuka hari kerja (API)"},
    "calendar.OverrideItem": "Mengembalikan hari ke kalender biasa (API)",
    "web.dashboard_page": "Membuka dasbor",
    "web.audit_page": "Membuka log audit",
    "audit.AuditLog": "Membaca log audit (API)",
    "sla.SlaReportView": "Membaca laporan standar waktu (API)",
    "web.notifications_page": "Membuka pemberitahuan",
    "web.read_notification": "Menandai pemberitahuan dibaca",
    "web.read_all_notifications": "Menandai semua pemberitahuan dibaca",
    "notifications.NotificationCollection": "Membaca pemberitahuan (API)",
    "notifications.NotificationRead": "Menandai pemberitahuan dibaca (API)",
    # process owner
    "web.modeler": "Membuka modeler proses",
    "web.versions": "Membuka versi proses",
    "web.activate_version": "Mengaktifkan versi proses",
    "web.migrations": {"GET": "Membuka migrasi permohonan", "POST": "Memindahkan permohonan ke versi lain"},
    "processes.ProcessCollection": {"GET": "Melihat daftar proses (API)", "POST": "Men-deploy diagram proses"},
    "processes.ProcessDiagram": "Mengunduh diagram proses",
    "processes.ProcessValidation": "Memeriksa diagram proses",
    "decisions.DecisionEvaluation": "Mencoba tabel keputusan",
    "processes.ProcessVersionDetail": "Melihat versi proses dengan formulir dan tabel keputusannya",
    "processes.VersionActivation": "Mengaktifkan versi proses (API)",
    "migrations.Migrations": "Memindahkan permohonan ke versi lain (API)",
    "reference.KecamatanCollection": "Melihat data kecamatan",
    "reference.KecamatanItem": {"GET": "Melihat data kecamatan", "PUT": "Mengubah data kecamatan"},
    "reference.RegionCollection": "Melihat data wilayah",
    "reference.RegionItem": {"GET": "Melihat data wilayah", "PUT": "Mengubah data wilayah"},
}

FALLBACK = {"GET": "Membuka halaman atau data lain", "HEAD": "Membuka halaman atau data lain"}
FALLBACK_CHANGE = "Mengubah data lain"


def action_label(action: str, method: str = "GET") -> str:
    label = ACTION_LABELS.get(action)
    if isinstance(label, dict):
        return label.get(method) or next(iter(label.values()))
    if label:
        return label
    return FALLBACK.get(method, FALLBACK_CHANGE)


def action_choices() -> list[tuple[str, str]]:
    """(action id, label) for the filter, by label; an endpoint with several methods under its first."""
    return sorted(
        (
            (a, lbl if isinstance(lbl, str) else " / ".join(dict.fromkeys(lbl.values())))
            for a, lbl in ACTION_LABELS.items()
        ),
        key=lambda pair: pair[1],
    )
