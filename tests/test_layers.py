"""Issue 14: libvirt's messages inside the text of the layers above it (nova, KubeVirt,
CloudStack, libvirt's default error printer, test harnesses quoting virsh), from public
reports (samples/excerpts/*, each with its SOURCE.md): the message inside is found and
judged, the layer is named, virError's numbers are named."""
from __future__ import annotations

from samplelib import SAMPLES, analyzed, quote

from loganalyzer.rules import wrappers


def _findings(rel):
    a = analyzed(rel)
    return a, [(f.cause, [e.line for e in f.evidence], f.summary) for f in a.findings]


def test_nbd_in_tunnelled_beats_the_eof_pasted_before_it():
    rel = "excerpts/opendev-puppet-openstack-cloud-nbd-tunnelled/report-excerpt.txt"
    quote(rel, 2, "virNetSocketReadWire:1477 : End of file while reading data: Input/output error")
    quote(rel, 3, "qemuMigrationBeginPhase:2088 : NBD in tunnelled migration is currently not supported")
    _, fs = _findings(rel)
    assert [(c, lines) for c, lines, _ in fs] == [("unsupported-config", [3])]


def test_cloudstack_unable_to_stat_is_storage_missing():
    rel = "excerpts/cloudstack-10582-unable-to-stat/report-excerpt.txt"
    line = quote(rel, 1, "org.libvirt.LibvirtException: internal error: Process exited prior to exec: "
                         "libvirt: QEMU Driver error : Unable to stat /var/lib/libvirt/images/")
    _, fs = _findings(rel)
    assert [c for c, _, _ in fs] == ["storage-missing"]
    # the layer that carried it is named
    assert "libvirt's default error printer" in fs[0][2]
    assert wrappers.carrier(line, line.index("Unable to stat")).layer == "libvirt's default error printer"


def test_cloudstack_precreation_unsupported():
    rel = "excerpts/cloudstack-11500-precreation-unsupported/management-server-excerpt.log"
    quote(rel, 1, "org.libvirt.LibvirtException: Operation not supported: pre-creation of storage target")
    _, fs = _findings(rel)
    assert [(c, lines) for c, lines, _ in fs] == [("unsupported-config", [1])]
    assert "CloudStack (libvirt-java) carried libvirt's error" in fs[0][2]


def test_nova_empty_ssh_stderr_eof_is_a_symptom_not_an_ssh_failure():
    rel = "excerpts/nova-operator-621-eof-migration-failure/nova-compute-excerpt.log"
    quote(rel, 1, "Live Migration failure: End of file while reading data: : Input/output error: "
                  "libvirt.libvirtError: End of file while reading data: : Input/output error")
    a, fs = _findings(rel)
    assert [c for c, _, _ in fs] == ["dconn-closed"]
    assert "is a symptom" in fs[0][2]
    assert all(not th.hit.is_root for h in a.hosts for th in h.text_hits)


def test_nova_remote_uri_connect_failed():
    rel = "excerpts/chef-cookbooks-258-remote-uri/report-excerpt.txt"
    quote(rel, 3, "Live Migration failure: operation failed: Failed to connect to remote libvirt URI")
    _, fs = _findings(rel)
    assert [(c, lines) for c, lines, _ in fs] == [("connect-failed", [3])]
    assert "nova carried libvirt's error" in fs[0][2]


def test_qemus_postcopy_refusal_inside_libvirts_qmp_wrapper():
    rel = "excerpts/tp-libvirt-3514-postcopy-not-supported/report-excerpt.txt"
    quote(rel, 2, "error: internal error: unable to execute QEMU command 'migrate-set-capabilities': "
                  "Postcopy is not supported")
    a, fs = _findings(rel)
    assert [c for c, _, _ in fs] == ["unsupported-config"]
    assert "QEMU refused the migration" in fs[0][2]
    roots = [th.hit for h in a.hosts for th in h.text_hits if th.hit.is_root]
    assert roots[0].pattern.versions.startswith("qemu ")


def test_virerror_numbers_are_named():
    line = (SAMPLES / "excerpts/kumina-exporter-33-state-change-lock/report-excerpt.txt").read_text().splitlines()[4]
    assert line.startswith("Failed to scrape metrics: virError(Code=68, Domain=10")
    text = wrappers.describe(line, line.index("cannot acquire"))
    assert text == ("KubeVirt (libvirt-go virError) carried libvirt's error (Code=68 VIR_ERR_OPERATION_TIMEOUT, "
                    "Domain=10 VIR_FROM_QEMU)")
    assert (wrappers.code_name(9), wrappers.domain_name(31)) == ("VIR_ERR_OPERATION_FAILED", "VIR_FROM_CPU")
    assert wrappers.code_name(84) == "VIR_ERR_OPERATION_UNSUPPORTED"


# ---- localised daemon texts (issue 14 item 5): libvirt's own translations from po/ ----------

def test_translations_of_the_rules_messages_are_in_the_data():
    from loganalyzer.rules import generated
    tr = generated.load().translations
    assert set(tr) == {"de", "fr", "es", "ja", "zh_CN", "ru", "pt_BR"}
    assert "读取数据时进入文件终点" in tr["zh_CN"]["End of file while reading data"]
    assert "Client Socket ist geschlossen" in tr["de"]["client socket is closed"]
    assert "connexion fermée en raison d'un dépassement du délai d'attente (keepalive)" in \
        tr["fr"]["connection closed due to keepalive timeout"]
    # and the codes' prefixes ("internal error: %s" ...)
    assert tr["de"]["internal error: %s"]


def test_chinese_eof_from_a_real_report_is_the_eof_symptom():
    rel = "excerpts/virt-manager-782-eof-zh-cn/report-excerpt.txt"
    quote(rel, 16, "libvirt.libvirtError: 读取数据时进入文件终点: 输入/输出错误")
    a, fs = _findings(rel)
    ids = [(th.line, th.hit.id) for h in a.hosts for th in h.text_hits]
    assert ids == [(1, "eof-reading-data@zh_CN"), (16, "eof-reading-data@zh_CN")]
    assert [c for c, _, _ in fs] == ["dconn-closed"] and "is a symptom" in fs[0][2]


def test_every_translation_takes_the_english_patterns_role():
    from loganalyzer.rules import localised, printf
    from loganalyzer.rules.catalogue import PATTERNS_BY_ID, match_text
    loc = localised.load()
    assert len(loc.patterns) > 40
    for p in loc.patterns:
        hand = PATTERNS_BY_ID[p.id.split("@")[0]]
        assert (p.cause, p.role) == (hand.cause, hand.role)
        assert p.id in [h.id for h in match_text("error : f:1 : " + p.example)], p.id
