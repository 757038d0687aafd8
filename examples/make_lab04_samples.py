"""Build the sample class of lab 04 from solutions/ and release/: examples/submissions/lab04/ (one
folder per student, each holding that student's 04_n.ipynb).

The answer key, the untouched release, and realistic mistakes, each replacing whole solution
cells (by grade_id) of the answer key. The scores each one must get are asserted in
tests/test_grade_lab04.py. Run after `autograder release lab04`:

    .venv/bin/python examples/make_lab04_samples.py
"""

from __future__ import annotations

from pathlib import Path

from sample_notebooks import main, one_notebook_class, write_class

LAB, NOTEBOOK = "lab04", "04_n"

# "more data is better": the test images are added to the training data. validation_split then holds out
# the last 20 %, so the model trains on 400 of the 2000 test images and early-stops on the other 1600.
TEST_SET_IN_TRAINING = '''x_train = preprocess(np.concatenate([x_train_raw, x_test_raw]))
y_train = keras.utils.to_categorical(np.concatenate([y_train_raw, y_test_raw]), NUM_CLASSES)
x_test = preprocess(x_test_raw)
y_test = keras.utils.to_categorical(y_test_raw, NUM_CLASSES)
print("x_train", x_train.shape, x_train.dtype, "  y_train", y_train.shape)
'''

# preprocess only reshapes; the division by 255 is done on the notebook's own arrays. The networks train on
# [0, 1] and the notebook's accuracy looks right, but images that go through preprocess (new images, the
# grader's test images) reach the model as 0-255.
PREPROCESS_NO_SCALING = '''def preprocess(x):
    return np.asarray(x).astype("float32").reshape(-1, 28, 28, 1)
'''
PREPARE_SCALED_HERE = '''x_train = preprocess(x_train_raw) / 255
y_train = keras.utils.to_categorical(y_train_raw, NUM_CLASSES)
x_test = preprocess(x_test_raw) / 255
y_test = keras.utils.to_categorical(y_test_raw, NUM_CLASSES)
print("x_train", x_train.shape, x_train.dtype, "  y_train", y_train.shape)
'''

# train fits a copy "so that the original stays as it was": the History looks fine, the model passed in
# (the notebook's mlp and cnn) is never trained
TRAINS_A_COPY = '''def train(model, x, y, epochs, batch_size):
    model = keras.models.clone_model(model)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=VALIDATION_SPLIT,
                     callbacks=[early_stopping], verbose=2)
'''

# student id -> {grade_id of a solution cell: its new source}
MISTAKES = {
    "test-set-in-training": {"prepare": TEST_SET_IN_TRAINING},
    "no-normalisation-at-test": {"preprocess": PREPROCESS_NO_SCALING, "prepare": PREPARE_SCALED_HERE},
    "trains-a-copy": {"train": TRAINS_A_COPY},
}


def build(out: Path) -> list[str]:
    """Write one folder per sample student under ``out``; return the student ids."""
    return write_class(out, one_notebook_class(LAB, NOTEBOOK, MISTAKES))


if __name__ == "__main__":
    main(build, 'lab04')
