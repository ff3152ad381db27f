"""Every extractor the pipeline runs, in one visible place (no registration by import).

Derived, not listed here: `extractors.harvest.judge_harvest_list(addresses, object_size)`
is called by the pipeline once per file, after all windows, with that file's `emails`
addresses; it decides whether the file is a harvested address list (table `harvest_lists`:
addresses, unique, distinct_domains, top_domains, density).
"""
from __future__ import annotations

from extractors import credentials, emails, indicators, spam_templates, tor
from extractors import accounts, logins, scheduled_tasks, shell_history, ssh_keys, utmp
from extractors import cron_log, identities, mail_log, package_log, system_timezone, web_access
from extractors.base import Extractor

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
