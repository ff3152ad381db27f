"""Every producer of findings the pipeline runs, in one visible place (no registration by import).

Three kinds, one tuple each; the pipeline (seized.worker, seized.scanning) runs what is listed
here and knows none of them by name:
- `EXTRACTORS`: pure per-window extractors, bytes and a `Source` in, findings out.
- `RULE_SCANNERS`: per-window scanners of the rules given at scan time (YARA), run when the
  scan has rules.
- `JUDGEMENTS`: per-object decisions that need every window of a file or member; each consumes
  one table's findings and gives its verdicts after the last window (harvested address lists,
  from the `emails` findings).
"""
from __future__ import annotations

from extractors import credentials, emails, indicators, spam_templates, tor
from extractors import accounts, logins, scheduled_tasks, shell_history, ssh_keys, utmp
from extractors import cron_log, identities, mail_log, package_log, system_timezone, web_access
from extractors import harvest, yara_scan
from extractors.base import Extractor, Judgement, RuleScanner

EXTRACTORS: tuple[Extractor, ...] = (
    emails.EXTRACTOR,
    credentials.EXTRACTOR,
    spam_templates.EXTRACTOR,
    tor.EXTRACTOR,
    indicators.EXTRACTOR,
    accounts.EXTRACTOR,
    logins.EXTRACTOR,
    utmp.UTMP,
    utmp.LASTLOG_EXTRACTOR,
    utmp.CARVER,
    shell_history.EXTRACTOR,
    ssh_keys.EXTRACTOR,
    scheduled_tasks.EXTRACTOR,
    identities.EXTRACTOR,
    web_access.EXTRACTOR,
    mail_log.EXTRACTOR,
    package_log.EXTRACTOR,
    cron_log.EXTRACTOR,
    system_timezone.EXTRACTOR,
)

RULE_SCANNERS: tuple[RuleScanner, ...] = (
    yara_scan.SCANNER,
)

JUDGEMENTS: tuple[Judgement, ...] = (
    harvest.JUDGEMENT,
)
