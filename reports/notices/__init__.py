"""Weekly notices (一周一通报), interviews (约谈) and quarterly assessments (季度督考).

The models are in reports/models.py; this package builds, renders and serves them (docs/notices.md):

- ``content``: the content dict of a notice or assessment (the figures archived with it), issuing
  (``notice_issue``) and freezing (``assessment_freeze``), and ``render(content, fmt)``, which
  imports the renderer ``reports.notices.<fmt>`` only when needed;
- ``format``: words and numbers as the documents print them, shared by the renderers;
- ``docx``, ``xlsx``, ``html``: the renderers (公文 .docx, .xlsx workbook, printable HTML page);
- ``chart``: the chart as a PNG (matplotlib), for the .docx and the HTML page;
- ``forms``, ``views``, ``urls``: the pages under ``/notices/`` (URL namespace ``notices``).

The command ``manage.py weekly_notice`` (reports/management/commands) writes a notice from the shell.
Nothing is imported here: a module of the package loads only what it needs (``content`` imports
its renderer when asked to render, and the .xlsx needs neither python-docx nor matplotlib).
"""
