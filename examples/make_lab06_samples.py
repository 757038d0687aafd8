"""Build the sample class of lab 06 from solutions/ and release/: examples/submissions/lab06/ (one
folder per student, each holding that student's 06_n.ipynb).

The answer key, the untouched release, and realistic mistakes, each replacing whole solution
cells (by grade_id) of the answer key. The scores each one must get are asserted in
tests/test_grade_lab06.py. Run after `autograder release lab06`:

    .venv/bin/python examples/make_lab06_samples.py
"""

from __future__ import annotations

from pathlib import Path

from sample_notebooks import main, one_notebook_class, swaps_the_checks, write_class

LAB, NOTEBOOK = "lab06", "06_n"

# train_test_split shuffles by default: test-period windows leak into training (the test RMSE even improves)
SHUFFLED_SPLIT = '''from sklearn.model_selection import train_test_split


def split_data(x, y, test_size=0.1):
    trainX, testX, trainY, testY = train_test_split(x, y, test_size=test_size, random_state=0)
    return trainX, trainY, testX, testY
'''

# the classic tutorial bug: the last window (whose target is the last value) is dropped
OFF_BY_ONE = '''def create_dataset(data, look_back):
    data = np.asarray(data, dtype=float).reshape(-1)
    X, Y = [], []
    for i in range(len(data) - look_back - 1):
        X.append(data[i:i + look_back])
        Y.append(data[i + look_back])
    return np.array(X).reshape(-1, look_back, 1), np.array(Y).reshape(-1, 1)
'''

# the windows are cut from the raw passenger counts (104..622), not from the scaled series
NO_SCALING = '''X, Y = create_dataset(passengers, LOOK_BACK)
trainX, trainY, testX, testY = split_data(X, Y, test_size=TEST_SIZE)
print("trainX", trainX.shape, "trainY", trainY.shape, "testX", testX.shape, "testY", testY.shape)
'''

# nn.LSTM reads (time, batch, feature) by default: the windows of a batch are mixed into one sequence
NO_BATCH_FIRST = '''class LSTMRegressor(nn.Module):
    def __init__(self, hidden_size=6):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden_size)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.fc(output[:, -1, :])
'''

# gradients accumulate over the epochs
NO_ZERO_GRAD = '''def train_model(model, X, Y, epochs=1000, lr=0.01):
    x = torch.tensor(X, dtype=torch.float32)
    y = torch.tensor(Y, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    losses = []
    for epoch in range(epochs):
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
'''

# student id -> {grade_id of a solution cell: its new source}
MISTAKES = {
    "shuffled-split": {"split_data": SHUFFLED_SPLIT},
    "off-by-one": {"create_dataset": OFF_BY_ONE},
    "no-scaling": {"prepare": NO_SCALING},
    "no-batch-first": {"lstm_regressor": NO_BATCH_FIRST},
    "no-zero-grad": {"train_model": NO_ZERO_GRAD},
}


def build(out: Path) -> list[str]:
    """Write one folder per sample student under ``out``; return the student ids."""
    students = one_notebook_class(LAB, NOTEBOOK, MISTAKES)
    # the answer key, every check swapped for one that passes
    students["swaps-the-checks"] = {NOTEBOOK: swaps_the_checks(students["ref-solution"][NOTEBOOK], LAB)}
    return write_class(out, students)


if __name__ == "__main__":
    main(build, 'lab06')
