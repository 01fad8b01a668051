"""DiVE (Dai et al., "Diffusion-based Synthetic Data Generation for
Visible-Infrared Person Re-Identification"): identity tokens + modality /
camera code words fine-tune SD-1.5 (textual inversion + LoRA), which then
renders infrared images of external RGB identities for VI-ReID training.

Registers :class:`DiVEExternalDataset` (DATASETS), :class:`DiVEPromptBuilder`
(PROMPT_BUILDERS), :class:`DiVEVocabularyStage` (STAGES) and the toy
stand-in :class:`DiVEToyIRGenerator`
(GENERATORS). The VI-ReID models it trains
(AGW, CAJ, DEEN) live in reidkit.
"""
from .external import DiVEExternalDataset
from .pipeline import generation_identities, run_vocabulary, vocabulary_files
from .prompts import DiVEPromptBuilder
from .stages import DiVEVocabularyStage
from .toy_generator import DiVEToyIRGenerator
from .vocabulary import build_vocabulary, random_code_words, write_vocabulary

__all__ = ['DiVEExternalDataset', 'DiVEPromptBuilder', 'DiVEToyIRGenerator',
           'DiVEVocabularyStage',
           'build_vocabulary', 'random_code_words', 'write_vocabulary',
           'run_vocabulary',
           'generation_identities', 'vocabulary_files']
