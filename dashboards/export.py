"""Export from the page: a design's parameter files, made in memory for download.

The files are exactly what ``cosim export`` writes (:func:`explorer.export.render_design`,
with the trial's provenance): the design is validated again from its stored description
and rendered in memory. ``all`` gives a zip of every format (the RTL bundle skipped for a
design the RTL twin does not build), and so does ``rtl``, a bundle of several files.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from dashboards.designs import DesignRecord

if TYPE_CHECKING:
    from optuna import Study
    from optuna.trial import FrozenTrial

    from arch_models.spec import Arch
    from explorer.export import Provenance

__all__ = ["ExportFile", "export_formats", "export_record"]


class ExportFile:
    """A file to download.

    Attributes:
        filename: Its name (``u280_hbm_16core_pkg.sv``).
        content: Its bytes.
        text: Its text when it is a single text file (``None`` for a zip).
    """

    def __init__(self, filename: str, content: bytes, text: str | None) -> None:
        self.filename = filename
        self.content = content
        self.text = text


def export_formats() -> list[tuple[str, str]]:
    """Return ``(name, description)`` of every export format, then ``all``."""
    from explorer.export import EXPORTERS

    return [(e.name, e.description) for e in EXPORTERS.values()] + [
        ("all", "every format, as a zip")
    ]


def _arch_and_provenance(
    record: DesignRecord, study: Study | None, trial: FrozenTrial | None
) -> tuple[Arch, Provenance]:
    from arch_models.spec import Document, validate_arch
    from explorer import ExplorerError, Provenance, design_of_trial
    from explorer.export import OBJECTIVE_FIGURES
    from explorer.records import TrialRecord

    if study is not None and trial is not None:
        if trial.state.name != "COMPLETE" or not TrialRecord.of(trial).design:
            raise ExplorerError(
                f"trial {trial.number} has no valid design to export "
                f"({record.status}: {record.reason or trial.state.name.lower()})"
            )
        return design_of_trial(study, trial), Provenance.of_trial(study, trial)
    arch = validate_arch(Document(record.design, record.label, {(): 1}))
    summary = record.summary
    prov = Provenance(
        objectives={k: summary.get(k) for k in OBJECTIVE_FIGURES},
        status=record.status,
        model=str(summary.get("model", "")),
    )
    return arch, prov


def export_record(
    record: DesignRecord,
    fmt: str,
    *,
    study: Study | None = None,
    trial: FrozenTrial | None = None,
) -> ExportFile:
    """Render a design in one format (``all``, or a bundle such as ``rtl``, as a zip).

    Args:
        record: The design.
        fmt: A format name of :func:`export_formats`.
        study: The Optuna study, when the design is one of its trials.
        trial: The frozen trial.

    Raises:
        ExplorerError: Unknown format, a value no HDL literal can carry, or a trial that
            did not finish with a design (failed, or refused by the validator).
        SpecError: The stored description is not a valid design.
    """
    from explorer.export import render_design

    arch, prov = _arch_and_provenance(record, study, trial)
    rendered = render_design(arch, fmt, prov)
    if fmt != "all" and len(rendered) == 1:
        name, text = rendered[0]
        return ExportFile(name, text.encode("utf-8"), text)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in rendered:
            zf.writestr(name, text)
    stem = f"{record.label.split(' (')[0].replace(' ', '_')}-{arch.spec.name}"
    return ExportFile(f"{stem}{'' if fmt == 'all' else '-' + fmt}.zip", buf.getvalue(), None)
