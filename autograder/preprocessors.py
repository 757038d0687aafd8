"""nbconvert preprocessors of our own, one job each, configured through traitlets."""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode


class StripSolutionDelimiters(Preprocessor):
    """Remove the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines, keeping the solution.

    Answer keys (solutions/) show the reference code as a student would have
    written it, without nbgrader's markers.
    """

    begin_solution_delimeter = Unicode("BEGIN SOLUTION").tag(config=True)
    end_solution_delimeter = Unicode("END SOLUTION").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            lines = cell.source.split("\n")
            kept = [
                line
                for line in lines
                if not (
                    line.strip().startswith("#")
                    and (self.begin_solution_delimeter in line or self.end_solution_delimeter in line)
                )
            ]
            cell.source = "\n".join(kept)
        return cell, resources
