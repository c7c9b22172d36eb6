"""Dataset assembly, fine-tuning, calibration and saving of the voc classifier (``voc train``)."""
