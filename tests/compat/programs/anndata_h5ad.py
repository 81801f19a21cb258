"""anndata (single-cell .h5ad) writing and reading through h5py: its I/O registry
dispatches on ``type(group)``, so this needs h5py's exact classes."""
import sys
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.simplefilter("ignore")
d = sys.argv[1]
path = f"{d}/cells.h5ad"
rng = np.random.default_rng(0)
X = sp.random(40, 12, density=0.3, format="csr", random_state=1, dtype=np.float32)
obs = pd.DataFrame(
    {"cell_type": pd.Categorical(rng.choice(["T", "B", "NK"], 40)), "n_genes": rng.integers(0, 100, 40),
     "score": rng.random(40)},
    index=[f"cell{i}" for i in range(40)],
)
var = pd.DataFrame({"gene_name": [f"G{i}" for i in range(12)], "highly_variable": rng.random(12) > 0.5},
                   index=[f"g{i}" for i in range(12)])
adata = ad.AnnData(X=X, obs=obs, var=var)
adata.layers["counts"] = sp.csc_matrix(X * 3)
adata.layers["dense"] = np.arange(40 * 12, dtype="f8").reshape(40, 12)
adata.obsm["X_pca"] = rng.random((40, 3))
adata.varm["loadings"] = rng.random((12, 2))
adata.obsp["connectivities"] = sp.random(40, 40, density=0.05, format="csr", random_state=2)
adata.uns["neighbors"] = {"params": {"k": 15, "method": "umap"}, "names": np.array(["a", "b"])}
adata.uns["colors"] = ["red", "blue", "green"]
adata.write_h5ad(path, compression="gzip")

back = ad.read_h5ad(path)
print(back)
print("X equal:", (back.X != X).nnz == 0, type(back.X).__name__)
print("obs:", back.obs.to_dict(orient="list"))
print("obs dtypes:", {k: str(v) for k, v in back.obs.dtypes.items()})
print("var:", back.var.to_dict(orient="list"))
print("layers:", {k: type(v).__name__ for k, v in back.layers.items()},
      float(back.layers["counts"].sum()), float(back.layers["dense"].sum()))
print("obsm:", np.round(back.obsm["X_pca"][:3], 6).tolist(), "varm:", back.varm["loadings"].shape)
print("obsp:", back.obsp["connectivities"].nnz)
print("uns:", back.uns["neighbors"]["params"], list(back.uns["neighbors"]["names"]), list(back.uns["colors"]))

backed = ad.read_h5ad(path, backed="r")
print("backed:", backed.isbacked, backed.shape, type(backed.X).__name__)
print("backed slice:", np.round(backed[5:9].to_memory().X.toarray().sum(axis=1), 5).tolist())
print("backed obs:", backed.obs["cell_type"].value_counts().to_dict())
backed.file.close()
