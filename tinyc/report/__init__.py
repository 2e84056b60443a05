"""`tinyc report`: a model's analysis on a board as one self-contained HTML file with charts (and PNGs).

- :mod:`tinyc.report.data`: what is shown (:class:`~tinyc.report.data.Report`), the arena timeline, the SNR;
- :mod:`tinyc.report.profile`: instructions per layer on the emulated board;
- :mod:`tinyc.report.plots`: the matplotlib charts; :mod:`tinyc.report.html`: the page (extra sections);
- :mod:`tinyc.report.build`: :func:`~tinyc.report.build.report_for_model`, :func:`~tinyc.report.build.write_report`.
"""
