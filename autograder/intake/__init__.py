"""Intake: a class's submissions in, checked, one folder per student out.

In: Moodle's "Download all submissions" zip or a folder of files (:mod:`.upload`), the class roster
(:mod:`.roster`), file names as students write them (:mod:`.naming`).
Out: ``submitted/<student>/<lab>/<notebook>.ipynb`` and ``quarantine/`` with a reason for every other file;
for grading, each expected notebook of each student validated and staged as a copy (:mod:`.submissions`).
"""
