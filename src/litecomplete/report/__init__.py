"""One model in every quantization mode: converted, measured, written up with plots."""

from litecomplete.report.run import REPORT_MODES, ModeRow, Report, ReportConfig, run_report

__all__ = ["REPORT_MODES", "ModeRow", "Report", "ReportConfig", "run_report"]
