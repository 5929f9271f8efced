"""The inspectors' side of compliance: confidential reports, accountability cases, the console."""
