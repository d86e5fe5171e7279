"""Comparisons of variants: hypothesis verdicts with confidence intervals. Reads frames only."""

from negsim.analysis.verdicts import Verdict, hypothesis_table, paired_verdict

__all__ = ["Verdict", "hypothesis_table", "paired_verdict"]
